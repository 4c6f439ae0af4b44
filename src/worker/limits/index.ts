/**
 * Rate limits. Owns: the RateWindow Durable Object (rate-window.ts, its protocol in the header: one per
 * client address for failed logins, one per CI token for requests), the sliding one-minute window it
 * keeps (window.ts), the failed-login guard the password check calls before hashing (logins.ts,
 * LOGIN_FAILURES_PER_MINUTE), and the per-CI-token request budget the pipeline charges
 * (requests.ts, CI_TOKEN_REQUESTS_PER_MINUTE). Refusals are 429 TOOMANYREQUESTS with Retry-After.
 */
export { clientAddress, type LoginGuard, loginGuard, NO_GUARD } from "./logins";
export { RateWindow } from "./rate-window";
export { chargeCiToken, ciTokenOf } from "./requests";
