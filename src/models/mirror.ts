/** `--mirror URL`: fetch `https://HOST/PATH` from `URL/HOST/PATH` (a local mirror or a caching proxy). */

/** A --mirror value as a base URL without trailing slashes; undefined when it is not a plain http(s) URL. */
export function parseMirror(text: string): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return undefined;
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.search !== '' || url.hash !== '') return undefined;
  return url.href.replace(/\/+$/, '');
}

/** Where `url` is fetched from: `MIRROR/HOST/PATH?QUERY` with a mirror, else `url` itself. */
export function mirrorUrl(url: string, mirror: string | undefined): string {
  if (mirror === undefined) return url;
  const base = parseMirror(mirror);
  if (base === undefined) throw new TypeError(`mirror must be an http:// or https:// URL, got ${JSON.stringify(mirror)}`);
  const source = new URL(url);
  // `host` keeps a non-default port, so two servers on one host stay apart in the mirror.
  return `${base}/${source.host}${source.pathname}${source.search}`;
}
