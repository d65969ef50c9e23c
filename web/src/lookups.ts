// Names the queue and lists show beside ids: brands and seasons, fetched once per
// session (and again after a change the console makes itself).
import { all, get } from './api';
import type { Brand, Season } from './types';

let brands: Promise<Map<string, Brand>> | null = null;
let seasons: Promise<Season[]> | null = null;

export function brandMap(): Promise<Map<string, Brand>> {
  brands ??= all<Brand>('/brands').then((l) => new Map(l.map((b) => [b.id, b])));
  brands.catch(() => (brands = null));
  return brands;
}

export function seasonList(): Promise<Season[]> {
  seasons ??= all<Season>('/seasons');
  seasons.catch(() => (seasons = null));
  return seasons;
}

export async function season(id: string): Promise<Season> {
  const l = await seasonList();
  return l.find((s) => s.id === id) ?? (await get<Season>(`/seasons/${id}`));
}

export function forget() {
  brands = null;
  seasons = null;
}
