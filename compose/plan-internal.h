/* plan-internal.h — a service of the model turned into what the runtime
   runs: a container_spec plus what the lifecycle needs beside it (how to
   stop it, which volumes and other containers it depends on).

   plan.c is pure: it reads the normalized model and the image's config and
   fills the plan; it touches nothing on the host. The lifecycle (up.c)
   creates the directories and volumes the plan names, fills in the
   namespaces of other containers (service:X), then calls the runtime. */
#ifndef STACK_PLAN_INTERNAL_H
#define STACK_PLAN_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../runtime/runtime.h"
#include "compose-internal.h"

/* Where one container's things live; chosen by the lifecycle. */
typedef struct plan_paths
{
  const char *container_id;  /* "<project>-<service>-1": names the cgroup leaf */
  const char *cgroup_path;   /* "stack/<project>/<container_id>" */
  const char *container_dir; /* <STACK_ROOT>/containers/<container_id>: the plan
                                puts rootfs/, upper/, work/, hosts, hostname,
                                resolv.conf below it */
  const char *volumes_dir;   /* <STACK_ROOT>/volumes: a named volume NAME is
                                <volumes_dir>/NAME/_data, as Docker lays it out */
} plan_paths_t;

/* How a namespace is had: a new one, the host's, or another service's. */
enum plan_ns
{
  PLAN_NS_PRIVATE,
  PLAN_NS_HOST,
  PLAN_NS_NONE,    /* network_mode: none — a new netns with only lo */
  PLAN_NS_SERVICE, /* service:NAME (or container:NAME) — join NAME's */
};

typedef struct plan_volume
{
  const char *name; /* the volume's real name: "<project>_<key>" or its `name:`/external name */
  const char *dir;  /* <volumes_dir>/<name>/_data */
  bool external;    /* must exist already; never removed by `down -v` */
  bool anonymous;   /* "<container_id>_anon_<n>": a service mount without a source or an
                       image VOLUME nobody mounted over; removed with the container at `down` */
} plan_volume_t;

typedef struct svc_plan
{
  /* Every pointer inside points into the arena given to plan_service. */
  container_spec_t spec;
  const char *image;     /* the service's `image:` as written, for the store */
  int stop_signal;       /* service's stop_signal, else the image's StopSignal, else SIGTERM */
  int64_t stop_grace_ns; /* stop_grace_period, default 10 s */
  bool stdin_open;       /* stdin_open: true */

  enum plan_ns net, ipc, pid;
  const char *net_service, *ipc_service, *pid_service; /* for PLAN_NS_SERVICE */

  const plan_volume_t *volumes; /* named volumes this service mounts, each once */
  size_t n_volumes;
} svc_plan_t;

/* Translate service s of p, whose image is img, for a container placed at
   paths. Docker's rules throughout (plan.c, plan-limits.c, plan-mounts.c):
   - argv: a non-empty service entrypoint replaces the image's Entrypoint
     and Cmd; `entrypoint: []` drops only the image's Entrypoint; a service
     command replaces the image's Cmd (`command: []` keeps it, as Docker);
     nothing to run: an error.
   - env: Docker's default PATH and HOSTNAME (TERM with a tty), then the
     image's Env, then environment (env_file merged in by normalization),
     later keys replacing earlier ones in place; a null value removes.
   - cwd: working_dir, else the image's WorkingDir; user likewise.
   - limits: deploy.resources.limits over mem_limit/cpus/pids_limit;
     memswap_limit, or 2× memory when only memory is set, -1 unlimited;
     cpu_quota/cpu_period as cpus; cpu_shares; cpuset; mem_reservation;
     blkio_config.weight; shm_size; ulimits (none added by default). The
     daemon's checks (swap below memory, memory under 6m, ...) are errors.
   - security: rt_default_caps(), cap_drop then cap_add (ALL in either),
     privileged, security_opt no-new-privileges[:true|false],
     seccomp=unconfined (label=/apparmor= accepted and ignored; a profile
     file is refused), sysctls.
   - mounts sorted by target depth, parents first (file order otherwise):
     binds, named volumes (seeded unless nocopy), anonymous volumes
     ("<container_id>_anon_<n>"; also for image VOLUMEs no mount covers),
     tmpfs (size, mode, exec), file secrets and configs; read_only root.
   - hostname (default: the container id, cut to 63 characters — Docker
     uses its hex id, which means nothing to a user), domainname, init, tty.
   - stdio: spec's fds are -1; the lifecycle sets them.
   Keys the runtime cannot honour yet (devices, uts: host, userns_mode,
   volumes_from, other volume drivers) are refused, never dropped.
   Returns 0, or -1 with err (status EINVAL for a problem with the file,
   whose message starts "FILE:LINE:COL: services.NAME.key: "). */
int plan_service (arena_t *a, const compose_project_t *p, const compose_service_t *s,
                  const rt_image_config_t *img, const plan_paths_t *paths, svc_plan_t *out,
                  stack_error_t **err);

/* Signal name or number as Compose accepts it ("SIGTERM", "TERM", "15") →
   number; -1 if unknown. */
int plan_signal_parse (const char *s);

#endif
