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

#include "../network/network.h"
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

/* A network of the project (plan-network.c). */
typedef struct plan_network
{
  const char *key;  /* its key under `networks:`, e.g. "default" */
  const char *name; /* "<project>_<key>", its `name:`, or the external name */
  bool external;    /* an existing bridge, or another project's network */
  bool internal;    /* no way out, no published ports */
  net_prefix_t subnet; /* ipam.config[0].subnet; len 0: chosen at `up` */
  uint32_t gateway;    /* ipam.config[0].gateway; 0: the subnet's first address */
  const node_t *subnet_node; /* for errors about it */
} plan_network_t;

/* How a service joins one network. */
typedef struct plan_attachment
{
  const char *network;         /* the network's key */
  const char *const *aliases;  /* NULL-terminated, or NULL */
  uint32_t ipv4_address;       /* 0: the next free one */
  const node_t *address_node;  /* for errors about ipv4_address */
} plan_attachment_t;

/* A published port. A host port range (host_lo < host_hi) means the first
   free port of it; host_lo == 0: a port the kernel picks. */
typedef struct plan_port
{
  uint32_t host_ip; /* 0: every address */
  uint16_t host_lo, host_hi;
  uint16_t container_port;
  enum net_protocol protocol;
  const char *where; /* "FILE:LINE:COL: services.NAME.ports[I]", for errors */
} plan_port_t;

/* One extra_hosts entry; ip "host-gateway" is the gateway of the
   container's first network (Docker: the host as the container sees it). */
typedef struct plan_host
{
  const char *name, *ip;
} plan_host_t;

/* When a container whose PID 1 exited is started again (Docker's
   restart policies). */
enum plan_restart
{
  PLAN_RESTART_NO,
  PLAN_RESTART_ALWAYS,
  PLAN_RESTART_ON_FAILURE, /* a non-zero exit code; max_restarts 0: no limit */
  PLAN_RESTART_UNLESS_STOPPED,
};

/* A healthcheck, with Docker's defaults filled in. */
typedef struct plan_health
{
  const char *const *argv; /* CMD: the program and its arguments; CMD-SHELL and
                              strings: {"/bin/sh", "-c", CMD}; NULL: no check */
  int64_t interval_ns;       /* 30 s */
  int64_t timeout_ns;        /* 30 s */
  int64_t start_period_ns;   /* 0 */
  int64_t start_interval_ns; /* 5 s: the interval during start_period */
  unsigned retries;          /* 3 */
} plan_health_t;

enum plan_condition
{
  PLAN_DEP_STARTED,   /* service_started */
  PLAN_DEP_HEALTHY,   /* service_healthy */
  PLAN_DEP_COMPLETED, /* service_completed_successfully */
};

/* One depends_on entry. */
typedef struct plan_dep
{
  const char *service;
  enum plan_condition condition;
  bool required; /* false: a missing or failed dependency is only a warning */
  bool restart;  /* restarted when the dependency is restarted by a command */
} plan_dep_t;

typedef struct svc_plan
{
  /* Every pointer inside points into the arena given to plan_service. */
  container_spec_t spec;
  const char *image;     /* the service's `image:` as written, for the store */
  int stop_signal;       /* service's stop_signal, else the image's StopSignal, else SIGTERM */
  int64_t stop_grace_ns; /* stop_grace_period, default 10 s */
  bool stdin_open;       /* stdin_open: true */

  /* the supervisor's part (plan-run.c) */
  enum plan_restart restart;
  unsigned max_restarts; /* on-failure:N; 0: no limit */
  plan_health_t health;
  const plan_dep_t *deps; /* depends_on, in the file's order */
  size_t n_deps;
  bool log_none;          /* logging.driver: none: output is not kept */
  uint64_t log_max_size;  /* logging.options.max-size, default 10 MiB */
  unsigned log_max_files; /* logging.options.max-file, default 3 */
  const char *config_hash; /* sha256 of the service's model and image id: a
                              running container whose hash differs is recreated
                              by `up` */

  enum plan_ns net, ipc, pid;
  const char *net_service, *ipc_service, *pid_service; /* for PLAN_NS_SERVICE */

  const plan_volume_t *volumes; /* named volumes this service mounts, each once */
  size_t n_volumes;

  /* networking (plan-network.c); attachments and ports only for net ==
     PLAN_NS_PRIVATE, in the order of the service's `networks:` keys (the
     first non-internal one carries the default route) */
  const plan_attachment_t *attachments;
  size_t n_attachments;
  const plan_port_t *ports;
  size_t n_ports;
  const plan_host_t *extra_hosts;
  size_t n_extra_hosts;
  const plan_host_t *links; /* links: "SERVICE:ALIAS" as {ALIAS, SERVICE} */
  size_t n_links;
  const char *const *dns, *const *dns_search, *const *dns_opt; /* NULL-terminated, or NULL */
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
   - run (plan-run.c): restart (or deploy.restart_policy: condition any →
     always, on-failure with max_attempts → on-failure:N, none → no);
     healthcheck (disable/NONE: none; the image's when the service has
     none); depends_on; logging (json-file and local kept, none keeps
     nothing, other drivers warned about and written as json-file);
     config_hash.
   - network (plan-network.c): the networks it joins (aliases, a fixed
     ipv4_address inside the file's subnet), published ports (IPv4, tcp
     or udp; discarded with network_mode host or none as Docker does,
     refused with service:NAME), extra_hosts, links, dns, dns_search,
     dns_opt.
   Keys the runtime cannot honour yet (devices, uts: host, userns_mode,
   volumes_from, other volume drivers) are refused, never dropped.
   Returns 0, or -1 with err (status EINVAL for a problem with the file,
   whose message starts "FILE:LINE:COL: services.NAME.key: "). */
int plan_service (arena_t *a, const compose_project_t *p, const compose_service_t *s,
                  const rt_image_config_t *img, const plan_paths_t *paths, svc_plan_t *out,
                  stack_error_t **err);

/* The project's networks, in the order of the top-level `networks:` map;
   only those some service joins. Checks what the file can be checked for
   alone: bridge driver only, IPv4 subnets, the gateway inside the subnet.
   Returns 0, or -1 with err (status EINVAL, "FILE:LINE:COL: networks.…"). */
int plan_networks (arena_t *a, const compose_project_t *p, plan_network_t **out, size_t *n,
                   stack_error_t **err);

/* Signal name or number as Compose accepts it ("SIGTERM", "TERM", "15") →
   number; -1 if unknown. */
int plan_signal_parse (const char *s);

#endif
