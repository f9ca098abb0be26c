// The API's largest page.
const maxPageSize = 500;

/**
 * Fetches pages until `limit` items or the last page. Pages are sized so that
 * none is cut in the middle: the returned `nextPageToken` then resumes exactly
 * after the last item returned, and is empty when nothing is left.
 */
export async function collectPages<T>(
  limit: number,
  fetchPage: (pageSize: number, pageToken: string) => Promise<{ items: T[]; nextPageToken: string }>,
): Promise<{ items: T[]; nextPageToken: string }> {
  const items: T[] = [];
  let pageToken = "";
  do {
    const page = await fetchPage(Math.min(maxPageSize, limit - items.length), pageToken);
    items.push(...page.items);
    pageToken = page.nextPageToken;
  } while (pageToken !== "" && items.length < limit);
  return { items, nextPageToken: pageToken };
}
