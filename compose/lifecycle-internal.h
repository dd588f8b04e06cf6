/* lifecycle-internal.h — bringing a project up and down.

   `up` (up.c) checks everything it can before anything exists on the host:
   the file, the images, every service's plan. Then it takes the project's
   lock and becomes (foreground) or forks (`-d`) the supervisor
   (supervisor.c): one libev loop, parent of every container's PID 1, which
   creates the containers in dependency order, records each before it
   exists, sees each exit, and stops them in reverse order when asked over
   its control socket. `down` (down.c) asks it; when no supervisor is alive
   it works from the state file alone (teardown.c). */
#ifndef STACK_LIFECYCLE_INTERNAL_H
#define STACK_LIFECYCLE_INTERNAL_H

#include <ev.h>
#include <stdbool.h>

#include "logs-internal.h"
#include "plan-internal.h"
#include "state-internal.h"

struct health; /* health.c's, while a container's checks run */

/* What the supervisor is doing with a container. */
enum sv_phase
{
  SV_WAITING,  /* not created yet: waits for its dependencies (or a start) */
  SV_RUNNING,  /* its PID 1 runs */
  SV_STOPPING, /* asked to stop: stop signal sent, SIGKILL at the grace's end */
  SV_BACKOFF,  /* exited; the restart policy starts it again when the timer fires */
  SV_EXITED,   /* exited, and stays so until a command starts it */
};

typedef struct sv_container
{
  const compose_service_t *svc;
  svc_plan_t plan;
  rt_image_t *image;
  const char *dir; /* <STACK_ROOT>/containers/<name>, in the project's arena */
  size_t st_index; /* its entry in the state (entries move on realloc) */
  bool recorded;   /* its state entry exists */
  rt_container_t rt;
  ev_child child;
  ev_io pty;          /* tty: the terminal's output, copied to the log */
  enum sv_phase phase;
  bool started_once;  /* ran at least once: service_started is met */
  bool in_op;         /* part of the operation under way */
  bool remove;        /* reconcile: removed once stopped (changed, or gone from the file) */
  logpipe_t out, err; /* its stdout and stderr */
  logfile_t *log;     /* NULL with logging driver none */
  size_t color;       /* its colour in `up`'s output */
  ev_timer restart;   /* SV_BACKOFF: when it starts again */
  ev_timer kill;      /* SV_STOPPING: SIGKILL when its grace period ends */
  int64_t backoff_ns; /* the next restart delay: 100 ms, doubling, capped at 1 min */
  bool manual_stop;   /* stop, kill or down ended it: no restart */
  struct health *health; /* health.c's; NULL when no checks run */
  uint32_t *addrs;       /* its address on each of plan.attachments */
  int *port_fds;         /* the reservation of each of plan.ports */
  uint16_t *host_ports;  /* the host port each of plan.ports got */
  struct supervisor *sv;
} sv_container_t;

/* A network the project uses, once it is on the host (wiring.c). */
typedef struct sv_network
{
  const plan_network_t *plan;
  char bridge[16];
  net_prefix_t subnet;
  uint32_t gateway;
  bool created; /* ours, not external */
} sv_network_t;

/* What the supervisor is asked to do, one at a time, in order. Stopping
   goes in reverse dependency order; starting waits for each container's
   depends_on conditions. */
enum sv_op_kind
{
  OP_UP,      /* create and start (the first `up`, or a reconcile) */
  OP_START,   /* start stopped containers (and what they depend on) */
  OP_STOP,
  OP_RESTART, /* stop, then start */
  OP_DOWN,    /* stop everything, remove the project, end */
};

typedef struct sv_op
{
  enum sv_op_kind kind;
  struct client *client; /* who waits for the answer; NULL: the first `up` */
  bool stopping;         /* in its stop phase */
  bool wait;             /* done when every container it starts is healthy */
  int64_t grace_ns;      /* -t; -1: each container's stop_grace_period */
  int64_t deadline_ns;   /* --wait-timeout, monotonic; 0: none */
  json_t *services;      /* the services named (with what they need); empty: all */
  json_t *reconcile;     /* OP_UP from a client: the request (reconcile.c) */
  struct sv_op *next;
} sv_op_t;

typedef struct supervisor
{
  compose_project_t *project;
  rt_store_t *store;
  char *run_dir;
  state_t *st;
  int lock_fd;
  sv_container_t **c; /* in start order */
  size_t n;
  plan_network_t *plan_nets; /* the networks the selected services join */
  sv_network_t *nets;
  size_t n_nets;
  bool detached; /* -d: output to log files, lives until `down` */
  int ready_fd;  /* -d: start-up progress for the waiting `up`; -1 when done */
  bool wait;     /* up --wait */
  int64_t wait_timeout_ns;
  bool abort_on_exit;        /* --abort-on-container-exit */
  const char *exit_code_from; /* --exit-code-from SERVICE */

  struct ev_loop *loop;
  int listen_fd;
  ev_io listen;
  ev_signal sigterm, sigint;
  ev_timer tick; /* --wait-timeout of the operation under way */
  sv_op_t *op;   /* under way; the queue follows op->next */
  bool interrupted; /* Ctrl-C once: stopping; twice: killing */
  bool ending;      /* the loop ends once the operation under way is done */
  bool checking, recheck; /* op_check under way; asked again meanwhile */
  int exit_code;
  struct client **subs; /* subscribers of `events` */
  size_t n_subs;
  size_t name_width; /* the longest prefix of `up`'s output */
  bool color;        /* `up`'s output is a terminal: coloured prefixes */
} supervisor_t;

/* up.c: the container of service svc of p as planned (its image from
   the store), not yet on the host; NULL with err. */
sv_container_t *prepare_container (compose_project_t *p, rt_store_t *store,
                                   const compose_service_t *svc, stack_error_t **err);
void free_container (sv_container_t *c);

/* Create every container, report readiness, run the loop until the project
   is down (or, in the foreground, until every container has exited).
   Returns the exit code for `up`. */
int supervisor_run (supervisor_t *sv);

/* "Container NAME  Started" lines, as Compose prints its progress. */
void progress (supervisor_t *sv, const char *name, const char *what);
/* " KIND NAME  WHAT" (" Network NAME  Created"). */
void progress_of (supervisor_t *sv, const char *kind, const char *name, const char *what);

/* Queue an operation (run at once when none is under way). req is the
   client's request (borrowed; NULL: every service, each one's own grace):
   "services" (names; empty: all), "timeout" (seconds), "wait" and
   "wait_timeout" (seconds); an "up" request is reconciled (reconcile.c).
   The client (NULL: the supervisor's own: the first `up`, Ctrl-C, SIGTERM)
   gets progress lines and the final answer; unknown services are part of
   that answer. */
void sv_queue (supervisor_t *sv, struct client *cl, enum sv_op_kind kind, json_t *req);
/* Signal the running containers of services at once (kill), telling cl
   each; a signal that ends them (KILL, TERM, INT, QUIT, their stop
   signal) keeps their restart policy from starting them again. */
int sv_kill (supervisor_t *sv, struct client *cl, json_t *services, int sig,
             stack_error_t **err);
/* Progress of the operation under way: to its client, to `up -d`'s
   terminal, or to stderr in the foreground. */
void sv_progress (supervisor_t *sv, const char *fmt, ...) PRINTF_LIKE (2, 3);

/* ---- control.c: the control socket, supervisor side ---- */

/* Listen on <run_dir>/control.sock. One request a connection, a JSON
   object on one line: {"command": "ping" | "up" | "start" | "stop" |
   "restart" | "kill" | "down" | "events", "services": [...], "timeout": S,
   "signal": N, "wait": bool, ...}. Answers are JSON lines:
   {"progress": "..."} while it works, then {"ok": true} or {"ok": false,
   "error": "..."}; `events` gets one line per event until the end. */
int control_start (supervisor_t *sv, stack_error_t **err);
void control_stop (supervisor_t *sv);
/* A line to the client (j stolen); dropped when the client is gone. */
void control_send (struct client *cl, json_t *j);
/* The final answer (j stolen); the client is closed and freed. */
void control_finish (struct client *cl, json_t *j);
/* A line to every `events` subscriber (j stolen). */
void control_broadcast (supervisor_t *sv, json_t *j);

/* ---- ctl.c: the control socket, client side ---- */

/* Called with each line of the answer that is not progress; returns true
   when it took the line (an "ok" line it takes does not end the call). */
typedef bool (*control_line_cb) (void *data, json_t *line);
/* Send req to the project's supervisor; progress lines go to stderr.
   Returns 0 on {"ok": true}, -1 with err on {"ok": false} (its error),
   1 when no supervisor answers (none listens, or it ended first). */
int control_call (const char *run_dir, json_t *req, control_line_cb cb, void *data,
                  stack_error_t **err);

/* ---- reconcile.c: `up` of a running project ---- */

/* req is an "up" request: load the project as the client sees it (its
   files, environment, options), compare each selected service with its
   container (config hash and image), mark the containers to recreate or
   (remove_orphans) remove, add the new ones. The operation then stops the
   marked, removes them, and starts what is missing. */
int reconcile_prepare (supervisor_t *sv, json_t *req, stack_error_t **err);
/* After the stop phase: remove the marked containers, add their
   replacements (as SV_WAITING). */
int reconcile_apply (supervisor_t *sv, stack_error_t **err);
/* At the supervisor's end: the projects reconciles loaded. */
void reconcile_free (void);

/* ---- health.c: healthchecks ---- */

/* c's PID 1 has just started: health "starting"; the first check after
   start_interval (while in start_period) or interval. Each check runs as
   `exec` would (the container's user, env, cwd, capabilities, seccomp),
   its output kept (at most 4 KiB) in the last 5 results of
   st->health_log; one that outlives its timeout is killed and fails. A
   pass makes the container healthy; `retries` failures in a row outside
   start_period make it unhealthy. Each change of status is saved to the
   state and reported through sv_health_changed. No-op without a
   healthcheck. */
void health_start (sv_container_t *c);
/* c stops or has exited: no more checks; a running one is killed and
   reaped. Safe to call twice. */
void health_stop (sv_container_t *c);

/* ---- supervisor.c, for health.c ---- */

/* The state entry of c (entries move as the state grows). */
st_container_t *sv_state (sv_container_t *c);
/* c's PID 1 has exited (its ev_child): record, restart by its policy or
   not, move the operation under way on. */
void sv_exited (struct ev_loop *loop, ev_child *w, int revents);

/* ---- container.c: one container on the host ---- */

/* Create and start c: its first time (recorded in the state before any of
   it exists, its volumes, image hold and log), or again after an exit
   (same name, writable layer and addresses). On failure after its PID 1
   was made, that process is killed and sv_exited sees it. */
int container_start (supervisor_t *sv, sv_container_t *c, stack_error_t **err);
/* Write c's /etc/hosts anew, in place (O_TRUNC: the container's bind
   mount sees the same inode), naming every container it shares a network
   with now. */
int container_write_hosts (sv_container_t *c, stack_error_t **err);
/* Its terminal's output (tty: true) into its log. */
void container_pty_cb (struct ev_loop *loop, ev_io *w, int revents);

/* The container of service (not one a reconcile is replacing); NULL. */
sv_container_t *sv_find (supervisor_t *sv, const char *service);
/* Write the state file; a failure is reported on stderr. */
void sv_save (supervisor_t *sv);
/* c's health changed to st->health: save, tell subscribers
   (health_status), let waiting dependants and `up --wait` move on. */
void sv_health_changed (sv_container_t *c);
/* A lifecycle event to the subscribers of `events`: action ("create",
   "start", "die", "oom", "health_status", "restart", "stop", "kill",
   "destroy") with attrs (stolen; NULL for none). */
void sv_event (supervisor_t *sv, sv_container_t *c, const char *action, json_t *attrs);

/* ---- wiring.c: the project's networks on the host ---- */

/* Before anything is created: the file's subnets overlap nothing on the
   host, fixed addresses are unique, external networks exist. */
int wiring_check (supervisor_t *sv, stack_error_t **err);
/* Under the project lock, before the supervisor: reserve every published
   host port (a conflict is an error naming the port and its holder, and
   nothing has been created). The sockets stay open in the supervisor. */
int wiring_reserve_ports (supervisor_t *sv, stack_error_t **err);
void wiring_release_ports (supervisor_t *sv);
/* In the supervisor, before the first container: bridges, every
   container's addresses, the project's packet rules; each recorded in the
   state before it exists. */
int wiring_up (supervisor_t *sv, stack_error_t **err);
/* A container that joins the running project (reconcile): its addresses
   (those of the container it replaces, when it does) and its host ports
   reserved. */
int wiring_add (supervisor_t *sv, sv_container_t *c, const sv_container_t *replaced,
                stack_error_t **err);
/* Apply the project's packet rules again, for every container's ports. */
int wiring_rules (supervisor_t *sv, stack_error_t **err);
/* The /etc/hosts and /etc/resolv.conf of a container (malloc'ed). */
char *wiring_hosts (supervisor_t *sv, sv_container_t *c);
char *wiring_resolv (supervisor_t *sv, sv_container_t *c);
/* While the container waits to exec: its interfaces (recorded first), lo
   up, the default route; and its ports recorded for `ps`. */
int wiring_container (supervisor_t *sv, sv_container_t *c, stack_error_t **err);
/* Remove a project's bridges and rules as its state records them, after
   its containers are gone; the host-wide lock is taken here. */
int wiring_down (state_t *st, stack_error_t **err);

/* ---- teardown.c: removing what the state records ---- */

/* Stop a recorded container that nobody supervises (its supervisor is
   gone): its stop signal, up to its grace period, then SIGKILL to its
   cgroup. Returns at once when it is not running. */
void stop_orphan (const st_container_t *c, int64_t grace_ns);
/* Kill what is left in its cgroup, remove the cgroup, its files and its
   image hold. Idempotent. */
int remove_container (const st_container_t *c, rt_store_t *s, stack_error_t **err);
/* Remove every container (reverse order), the anonymous volumes and the
   state file, printing progress to stderr. */
int remove_project (state_t *st, const char *run_dir, rt_store_t *s, stack_error_t **err);

/* Remove <run_dir> and what may be in it (when the project is down). */
void run_dir_remove (const char *run_dir);

/* ---- control socket ---- */

/* Bind/connect <run_dir>/control.sock, through /proc/self/fd so that long
   STACK_RUN paths fit in sun_path. */
int control_listen (const char *run_dir, stack_error_t **err);
int control_connect (const char *run_dir, stack_error_t **err);

#endif
