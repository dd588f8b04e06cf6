/* state-internal.h — what a project has on the host, written down.

   <STACK_RUN>/<project>/ holds:
     state.json     every container and volume the project created, recorded
                    before it is created (rewritten atomically: temp, fsync,
                    rename), so that `down` can remove it all even when the
                    supervisor is gone
     lock           flock'ed by the supervisor for its whole life: one `up`
                    per project, and `down` knows when the supervisor is gone
     control.sock   the supervisor's control socket (newline-delimited JSON)
     supervisor.log what a detached supervisor has to say

   state.json also records the project's networks (bridges), each
   container's interfaces and published ports, and whether the project's
   nftables chains may exist.

   A container's writable layer and files live in
   <STACK_ROOT>/containers/<name>/; named volumes in
   <STACK_ROOT>/volumes/<name>/_data, with <name>/project naming the project
   that created them (for `down -v` without the stack file). */
#ifndef STACK_STATE_INTERNAL_H
#define STACK_STATE_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "../runtime/runtime.h"

enum st_state
{
  ST_CREATED, /* recorded; may exist partly on the host */
  ST_RUNNING,
  ST_EXITED,
  ST_RESTARTING, /* exited; the restart policy starts it again after a delay */
};

/* A container's health as its healthcheck sees it (Docker's). */
enum st_health
{
  ST_HEALTH_NONE, /* no healthcheck */
  ST_HEALTH_STARTING,
  ST_HEALTH_HEALTHY,
  ST_HEALTH_UNHEALTHY,
};

typedef struct st_container
{
  char *service, *name;
  char *image, *image_id;
  char *dir;    /* <STACK_ROOT>/containers/<name> */
  char *cgroup; /* stack/<project>/<name> */
  enum st_state state;
  pid_t pid;           /* host pid of PID 1 while it runs, else 0 */
  uint64_t start_time; /* its /proc/PID/stat starttime: pid reuse is detected */
  int exit_code;       /* -1 until it exited */
  bool oom_killed;
  unsigned restarts;    /* by its restart policy, since `up` created it */
  enum st_health health;
  unsigned failing_streak; /* consecutive failed checks */
  json_t *health_log;      /* the last checks: [{start, end, exit_code, output}] */
  char *config_hash;       /* plan's config_hash when it was created */
  int64_t started_at, finished_at; /* ns since the epoch, 0: never */
  int stop_signal;
  int64_t stop_grace_ns;
  json_t *process; /* what `exec` needs to run as the service does */
  /* [{network, bridge, ifname, host_ifname, ip}]: its interfaces, each
     recorded before its veth pair exists; the address is kept across
     restarts */
  json_t *endpoints;
  /* [{host_ip, host_port, container_port, protocol}]: its published
     ports, as `ps` shows them */
  json_t *ports;
  /* ["5432/tcp", "8000-8010/udp"]: the image's ExposedPorts and the
     service's `expose`, shown by `ps` when not published */
  json_t *exposed;
} st_container_t;

typedef struct st_volume
{
  char *name, *dir;
  bool anonymous; /* removed with its container by `down` */
} st_volume_t;

typedef struct st_network
{
  char *key;    /* under `networks:` */
  char *name;   /* "<project>_<key>", or its `name:` */
  char *bridge; /* "stk…" (ours), or the external bridge */
  char *subnet, *gateway;
  bool created; /* ours: `down` deletes the bridge */
  bool internal;
} st_network_t;

typedef struct state
{
  char *project;
  char *project_dir;
  pid_t supervisor_pid;
  uint64_t supervisor_start;
  st_container_t *containers; /* in start order */
  size_t n_containers;
  st_volume_t *volumes;
  size_t n_volumes;
  st_network_t *networks; /* in creation order */
  size_t n_networks;
  bool rules; /* the project's chains in the nftables table may exist */
} state_t;

/* STACK_ROOT (/var/lib/stack) and STACK_RUN (/run/stack). */
const char *stack_root (void);
const char *stack_run (void);
/* <STACK_ROOT>/volumes and <STACK_ROOT>/containers/<name> (malloc'ed). */
char *state_volumes_dir (void);
char *state_container_dir (const char *name);
/* <STACK_RUN>/<project> (malloc'ed). */
char *state_run_dir (const char *project);
/* NULL *out when there is no state file. */
int state_load (const char *run_dir, state_t **out, stack_error_t **err);
int state_save (const state_t *st, const char *run_dir, stack_error_t **err);
void state_free (state_t *st);
void state_freep (state_t **st);
#define cleanup_state __attribute__ ((cleanup (state_freep)))
st_container_t *state_add_container (state_t *st);
st_network_t *state_add_network (state_t *st);
st_container_t *state_find (state_t *st, const char *service);
const char *st_state_name (enum st_state s);
/* "starting", "healthy", "unhealthy"; NULL for none. */
const char *st_health_name (enum st_health h);
/* Remove entry i (its container is gone), keeping the others' order. */
void state_remove_container (state_t *st, size_t i);

/* /proc/PID/stat's starttime; 0 when pid does not exist. */
uint64_t proc_start_time (pid_t pid);
/* Is the recorded process still that process? */
bool st_container_alive (const st_container_t *c);

/* The project lock: 0 taken (fd in *fd), 1 held by someone else, -1 error. */
int state_lock (const char *run_dir, int *fd, stack_error_t **err);

/* The exec-relevant part of a spec, kept in the state file so that `exec`
   runs as the service was started even if the file changed since. */
json_t *process_to_json (const container_spec_t *spec);
/* Fill spec's process fields from j; strings point into j (keep it alive). */
int process_from_json (json_t *j, container_spec_t *spec, stack_error_t **err);

/* Whose a directory in STACK_ROOT is (a volume's, a container's): its
   `project` file names the project, so that what a project left can be
   found without its state (down with -v, down after a reboot). */
int mark_project (const char *dir, const char *project, stack_error_t **err);
/* The entries of parent whose `project` file names project (malloc'ed
   array of malloc'ed names, NULL-terminated). */
char **dirs_of_project (const char *parent, const char *project);

/* Named volumes: <volumes_dir>/<name>/_data, marked with its project.
   Created when missing. */
int volume_create (const char *volumes_dir, const char *name, const char *project,
                   stack_error_t **err);

#endif
