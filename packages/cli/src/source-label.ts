/**
 * The label `apply -f DIR` sets on every resource of the folder, valued with
 * the folder's source name. Prune only ever considers resources that carry it
 * with this folder's name. Spelled like the server's own `plinth/repair`.
 */
export const sourceLabel = "plinth/source";
