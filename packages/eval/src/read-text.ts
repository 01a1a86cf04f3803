/** Reading a `corruption.baseline` location in browsers: a URL, relative to the page. */

/** Fetches `location` (absolute, or relative to the page's address) as text. */
export async function fetchText(location: string): Promise<string> {
  const base = typeof document === 'object' ? document.baseURI : globalThis.location?.href;
  const url = base === undefined ? location : new URL(location, base).href;
  const response = await fetch(url);
  if (!response.ok) throw new Error(`GET ${url}: HTTP ${response.status}`);
  return response.text();
}
