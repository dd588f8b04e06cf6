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

#include "plan-internal.h"
#include "state-internal.h"

typedef struct sv_container
{
  const compose_service_t *svc;
  svc_plan_t plan;
  rt_image_t *image;
  const char *dir; /* <STACK_ROOT>/containers/<name>, in the project's arena */
  size_t st_index; /* its entry in the state (entries move on realloc) */
  rt_container_t rt;
  ev_child child;
  ev_io pty;  /* tty: the terminal's output, copied to the log */
  int log_fd; /* where its output goes */
  uint32_t *addrs;     /* its address on each of plan.attachments */
  int *port_fds;       /* the reservation of each of plan.ports */
  uint16_t *host_ports; /* the host port each of plan.ports got */
  bool running;
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

#define SV_MAX_WAITERS 8

typedef struct supervisor
{
  compose_project_t *project;
  rt_store_t *store;
  char *run_dir;
  state_t *st;
  int lock_fd;
  sv_container_t *c; /* in start order */
  size_t n;
  plan_network_t *plan_nets; /* the networks the selected services join */
  sv_network_t *nets;
  size_t n_nets;
  bool detached; /* -d: output to log files, lives until `down` */
  int ready_fd;  /* -d: start-up progress for the waiting `up`; -1 when done */

  struct ev_loop *loop;
  int listen_fd;
  ev_io listen;
  ev_signal sigterm, sigint;
  ev_timer grace;
  bool stopping, remove;     /* stopping; and removing once stopped (down) */
  int64_t grace_override_ns; /* down -t; -1: each container's own */
  size_t stop_wave;
  bool wave_active;            /* stop_wave was signalled and has not ended yet */
  int waiters[SV_MAX_WAITERS]; /* clients waiting for "down" to finish */
  size_t n_waiters;
  int exit_code;
} supervisor_t;

/* Create every container, report readiness, run the loop until the project
   is down (or, in the foreground, until every container has exited).
   Returns the exit code for `up`. */
int supervisor_run (supervisor_t *sv);

/* "Container NAME  Started" lines, as Compose prints its progress. */
void progress (supervisor_t *sv, const char *name, const char *what);
/* " KIND NAME  WHAT" (" Network NAME  Created"). */
void progress_of (supervisor_t *sv, const char *kind, const char *name, const char *what);

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
