// The HTTP API's connection budget: config validates `http.max_connections_per_source` against it and
// takes its default from here; the HTTP edge (src/http/api.ts) and the descriptor check (src/limits.ts) size
// themselves from it.

/**
 * HTTP API connections held at once, so the API cannot use up the DNS budget: from sources beyond this host,
 * from loopback (a budget of its own: a flood from outside never locks out the local health check), and from
 * one source address beyond this host (an IPv6 /64), so one client cannot take the whole budget — the
 * default of http.max_connections_per_source (src/http/connections.ts).
 */
export const HTTP_REMOTE_CONNECTIONS = 256;
export const HTTP_LOOPBACK_CONNECTIONS = 64;
export const HTTP_CONNECTIONS_PER_SOURCE = 16;
/** Every HTTP API connection this process may hold. */
export const HTTP_MAX_CONNECTIONS = HTTP_REMOTE_CONNECTIONS + HTTP_LOOPBACK_CONNECTIONS;
