// Times in a season's time zone (named beside them), money from fen, waiting times.
import { lang } from './i18n';

export const DEFAULT_ZONE = 'Asia/Shanghai';

const locale = () => (lang() === 'zh' ? 'zh-CN' : 'en-GB');

/** `2027-06-01 00:00` in `zone`: one unambiguous form in both languages. */
export function dateTime(iso: string | null | undefined, zone = DEFAULT_ZONE): string {
  if (!iso) return '—';
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: zone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(new Date(iso));
  const p = (t: string) => parts.find((x) => x.type === t)?.value ?? '';
  return `${p('year')}-${p('month')}-${p('day')} ${p('hour')}:${p('minute')}`;
}

export function date(iso: string | null | undefined, zone = DEFAULT_ZONE): string {
  if (!iso) return '—';
  return new Intl.DateTimeFormat(locale(), {
    timeZone: zone,
    month: 'short',
    day: 'numeric',
  }).format(new Date(iso));
}

/** Fen (CNY minor units, integers) as yuan: 123456 → ¥1,234.56. Never via floats of yuan. */
export function yuan(fen: number | null | undefined): string {
  if (fen === null || fen === undefined) return '—';
  const sign = fen < 0 ? '-' : '';
  const abs = Math.abs(fen);
  const whole = Math.floor(abs / 100);
  const cents = String(abs % 100).padStart(2, '0');
  return `${sign}¥${whole.toLocaleString('en-US')}.${cents}`;
}

export function duration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return '—';
  const zh = lang() === 'zh';
  const d = Math.floor(seconds / 86400);
  const h = Math.floor((seconds % 86400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  if (d > 0) return zh ? `${d} 天 ${h} 小时` : `${d}d ${h}h`;
  if (h > 0) return zh ? `${h} 小时 ${m} 分` : `${h}h ${m}m`;
  return zh ? `${m} 分` : `${m}m`;
}

/** The offset of `zone` at instant `ms`, in ms (local wall time minus UTC). */
function offset(ms: number, zone: string): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: zone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).formatToParts(new Date(ms));
  const n = (t: string) => Number(parts.find((p) => p.type === t)?.value);
  const wall = Date.UTC(n('year'), n('month') - 1, n('day'), n('hour') % 24, n('minute'), n('second'));
  return wall - Math.floor(ms / 1000) * 1000;
}

/** `2027-06-01T00:00` read as a wall time in `zone` → RFC 3339 UTC. */
export function zonedToIso(local: string, zone: string): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(local);
  if (!m) return '';
  const wall = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5]);
  let t = wall - offset(wall, zone);
  t = wall - offset(t, zone);
  return new Date(t).toISOString();
}

/** RFC 3339 → `2027-06-01T00:00` as a wall time in `zone`, for datetime-local inputs. */
export function isoToZoned(iso: string, zone: string): string {
  if (!iso) return '';
  const ms = new Date(iso).getTime();
  const w = new Date(ms + offset(ms, zone));
  return w.toISOString().slice(0, 16);
}

export function validZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}
