/**
 * Entity tags (RFC 7644 §3.14). A resource's version is the sequence number of its latest journal
 * row, so it changes with every change the journal records, however close together, including a
 * group's members changing through another front-end; two changes can never share a tag.
 */
export const etagOf = (version: number) => `W/"${version}"`;

/** The opaque part of an entity tag: without W/ and the quotes (also taken without quotes, as some clients send them). */
const opaque = (tag: string) => tag.trim().replace(/^W\//i, '').replace(/^"(.*)"$/s, '$1');

/**
 * Whether an If-Match or If-None-Match header names the tag: `*` names any tag; the others compare
 * weakly, by their opaque part, since RFC 7644 §3.14's examples send the weak tags SCIM servers
 * return in If-Match (RFC 7232's strong comparison would refuse every one of them).
 */
export function namesTag(header: string, etag: string): boolean {
  if (header.trim() === '*') return true;
  const wanted = opaque(etag);
  return header.split(',').some((tag) => opaque(tag) === wanted);
}
