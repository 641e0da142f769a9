/* sim: the reference runtime behind `flightdeck simulate`. It plays AI-agent
 * sessions against a Flightdeck server over the HTTP API exactly as a real
 * runtime must (README "API", DESIGN.md sections 4 and 5): it creates a
 * session, reports messages, thoughts, tool calls, results and usage, asks
 * the control endpoint before every tool call, waits while the session is
 * pausing or paused, stops when it is canceled (after reporting the calls
 * still in flight), and finishes it as completed or failed. Every event
 * carries an idempotency key, and requests that fail in transport or with a
 * 5xx are retried, so the server's duplicate handling is exercised too.
 *
 * It is the runtime the race and consistency tests drive, and the quickest
 * way to watch the product work. It only ever talks to the local machine:
 * the server URL must be http://127.0.0.1, http://localhost or http://[::1]
 * (with an optional port and path), proxies are disabled, and redirects are
 * not followed. */
#ifndef FD_SIM_H
#define FD_SIM_H

/* Run `flightdeck simulate`. argv[0] is "simulate"; the rest are the options
 * listed by `flightdeck simulate --help` (--server, --token, --sessions,
 * --concurrency, --seed, --scenario, --step-ms, --tools, --resend, --json,
 * --verbose). Writes one line per finished session and a summary line to
 * stdout (JSON lines with --json), diagnostics to stderr.
 *
 * Returns the process exit code: 0 when every session was played and ended
 * in a status consistent with what happened; 1 when a request failed
 * unrecoverably (after retries), the token was refused, or the server
 * answered something the protocol forbids; 2 on bad usage (including a
 * server that is not on this machine).
 *
 * Calls curl_global_init()/curl_global_cleanup(), so it must not run while
 * another thread of the process uses libcurl; call it from main(). */
int sim_main(int argc, char **argv);

#endif
