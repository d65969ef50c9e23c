// The browser tests' world: the release binary on a fresh database (local mode: it starts
// its own PostgreSQL under a temporary PGBOOT_DIR and loads the demo data), Debian's
// chromium driven by playwright-core, and a few REST helpers for setup and for asking
// the gate. Everything started here is stopped in `stop()`.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repo = path.resolve(here, '..', '..');
export const PASSWORD = 'moments-gate-demo';
export const SHOTS = path.resolve(process.env.SCREENSHOT_DIR ?? path.join(repo, 'docs', 'screenshots'));

const binary =
  process.env.MOMENTS_GATE_BIN ??
  path.join(process.env.CARGO_TARGET_DIR ?? path.join(repo, 'target'), 'release', 'moments-gate');

const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function start() {
  if (!existsSync(binary)) throw new Error(`${binary} is missing: run cargo build --release first`);
  // The postgres user must reach this folder (pgboot runs PostgreSQL as it when root):
  // /var/tmp is open to it, a private /tmp may not be.
  const base = existsSync('/var/tmp') ? '/var/tmp' : tmpdir();
  const pgboot = mkdtempSync(path.join(base, 'mg-e2e-pg-'));
  const userData = mkdtempSync(path.join(tmpdir(), 'mg-e2e-chromium-'));
  const port = await freePort();
  // Every sign-in of the suite comes from 127.0.0.1: lift the per-address limit (30 a
  // minute by default) that would otherwise refuse the suite's own logins.
  const env = {
    ...process.env,
    PGBOOT_DIR: pgboot,
    BIND: `127.0.0.1:${port}`,
    RUST_LOG: 'warn',
    ANON_RATE_PER_MINUTE: '1000',
  };
  delete env.DATABASE_URL;
  const server = spawn(binary, ['serve'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  server.stdout.on('data', (d) => (log += d));
  server.stderr.on('data', (d) => (log += d));
  const base_url = `http://127.0.0.1:${port}`;
  const world = { server, pgboot, userData, base: base_url, browser: null, log: () => log };
  for (let i = 0; ; i++) {
    if (server.exitCode !== null) throw new Error(`the server exited early:\n${log}`);
    try {
      if ((await fetch(`${base_url}/readyz`)).ok) break;
    } catch {
      /* not listening yet */
    }
    if (i > 600) throw new Error(`the server did not become ready in 120 s:\n${log}`);
    await sleep(200);
  }
  world.browser = await chromium.launchPersistentContext(userData, {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: FLAGS,
    viewport: { width: 1280, height: 800 },
    locale: 'en-GB',
    timezoneId: 'Europe/London',
    acceptDownloads: true,
  });
  mkdirSync(SHOTS, { recursive: true });
  return world;
}

export async function stop(world) {
  if (!world) return;
  await world.browser?.close().catch(() => undefined);
  const { server, pgboot } = world;
  if (server.exitCode === null) {
    server.kill('SIGTERM');
    for (let i = 0; i < 200 && server.exitCode === null; i++) await sleep(100);
    if (server.exitCode === null) server.kill('SIGKILL');
  }
  // The server stops the PostgreSQL it started; make sure, by the data folder's pid file.
  const pidFile = path.join(pgboot, 'data', 'postmaster.pid');
  if (existsSync(pidFile)) {
    const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
    if (pid > 0 && alive(pid)) {
      process.kill(pid, 'SIGINT'); // PostgreSQL's "fast" shutdown
      for (let i = 0; i < 100 && alive(pid); i++) await sleep(100);
      if (alive(pid)) process.kill(pid, 'SIGKILL');
    }
  }
  rmSync(pgboot, { recursive: true, force: true });
  rmSync(world.userData, { recursive: true, force: true });
}

/** A REST call as a user (token) or a service (API key): `{status, body}`. */
export async function api(world, method, p, { token, body, accept } = {}) {
  const headers = { Accept: accept ?? 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method === 'POST') headers['Idempotency-Key'] = crypto.randomUUID();
  const res = await fetch(`${world.base}/v1${p}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    /* CSV or empty */
  }
  return { status: res.status, body: parsed, headers: res.headers };
}

export async function login(world, email) {
  const r = await api(world, 'POST', '/auth/login', { body: { email, password: PASSWORD } });
  if (r.status !== 200) throw new Error(`login ${email}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.token;
}

/** A fresh tab (its own sessionStorage, so its own signed-in user) on a console path. */
export async function openAs(world, email, to = '/console/') {
  const page = await world.browser.newPage();
  page.setDefaultTimeout(15000);
  await page.goto(world.base + to);
  if (email) await signIn(page, email);
  return page;
}

export async function signIn(page, email) {
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

export async function shot(page, name) {
  // Let images fail over to their placeholders and fonts settle before the picture.
  await page.waitForLoadState('networkidle').catch(() => undefined);
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`) });
}

export { sleep };
