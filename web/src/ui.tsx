// Small shared pieces: loading data, showing an API refusal, status badges.
import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { Problem } from './api';
import { label, t } from './i18n';

export function useLoad<T>(load: () => Promise<T>, deps: unknown[]) {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    setError(null);
    load().then(
      (d) => live && setData(d),
      (e) => live && setError(message(e)),
    );
    return () => {
      live = false;
    };
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((n) => n + 1), []);
  return { data, error, reload, setData };
}

export function message(e: unknown): string {
  if (e instanceof Problem) return e.detail;
  if (e instanceof Error) return e.message;
  return String(e);
}

/** Runs an action, keeping its refusal (the problem's `detail`) and a busy flag. */
export function useAction() {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState<string | null>(null);
  const run = async (f: () => Promise<unknown>, ok?: string) => {
    setBusy(true);
    setError(null);
    setDone(null);
    try {
      await f();
      if (ok) setDone(ok);
      return true;
    } catch (e) {
      setError(message(e));
      return false;
    } finally {
      setBusy(false);
    }
  };
  return { error, busy, done, run, setError };
}

export function Alert(props: { error?: string | null; done?: string | null }) {
  if (props.error)
    return (
      <div class="alert error" role="alert">
        {props.error}
      </div>
    );
  if (props.done)
    return (
      <div class="alert ok" role="status">
        {props.done}
      </div>
    );
  return null;
}

export function Badge(props: { value: string; extra?: string }) {
  return <span class={`badge s-${props.value} ${props.extra ?? ''}`}>{label(props.value)}</span>;
}

export function Loading(props: { error?: string | null }) {
  if (props.error) return <Alert error={props.error} />;
  return (
    <p class="muted" aria-live="polite">
      {t('Loading…')}
    </p>
  );
}

export function Card(props: { title?: ComponentChildren; children: ComponentChildren; class?: string; id?: string }) {
  const headingId = props.id ? `${props.id}-h` : undefined;
  return (
    <section class={`card ${props.class ?? ''}`} aria-labelledby={headingId}>
      {props.title && <h2 id={headingId}>{props.title}</h2>}
      {props.children}
    </section>
  );
}

export function Zone(props: { zone: string }) {
  return (
    <span class="zone">
      {t('Times in')} {props.zone}
    </span>
  );
}
