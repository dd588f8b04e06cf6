/* reconcile.c — `up` of a running project: the supervisor loads the file
   as the client sees it and brings the project in line with it, as
   Compose does: a container whose service is unchanged (same config hash,
   same image) is left alone (started again if it had stopped); a changed
   one is stopped, removed and created anew, keeping its addresses; a new
   service gets a container; a container whose service left the file is an
   orphan, removed only with --remove-orphans. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lifecycle-internal.h"

/* What the next reconcile_apply adds. */
typedef struct pending
{
  sv_container_t **add;
  sv_container_t **replaces; /* the container each one replaces, or NULL */
  size_t n;
} pending_t;

/* One supervisor a process: its reconcile's state can be the file's. */
static pending_t pending;
/* Loaded projects stay as long as the supervisor: containers point into
   their arenas. */
static compose_project_t **loaded;
static size_t n_loaded;

static const char **
strv_of (json_t *a, size_t *n)
{
  const char **v = xzalloc ((json_array_size (a) + 1) * sizeof *v);
  size_t i;
  json_t *s;

  json_array_foreach (a, i, s)
  v[i] = json_string_value (s);
  if (n)
    *n = json_array_size (a);
  return v;
}

static int
load (json_t *req, compose_project_t **out, stack_error_t **err)
{
  cleanup_free const char **files = NULL, **env_files = NULL, **profiles = NULL;
  cleanup_free const char **env = NULL, **services = NULL;
  compose_options_t o = { 0 };
  compose_diags_t diags;
  char *text = NULL;
  size_t len = 0;
  FILE *f;
  int ret;

  files = strv_of (json_object_get (req, "files"), &o.n_files);
  env_files = strv_of (json_object_get (req, "env_files"), &o.n_env_files);
  profiles = strv_of (json_object_get (req, "profiles"), &o.n_profiles);
  env = strv_of (json_object_get (req, "environ"), NULL);
  /* named services are enabled whatever their profiles, as the client saw */
  services = strv_of (json_object_get (req, "services"), &o.n_services);
  o.services = services;
  o.files = files;
  o.env_files = env_files;
  o.profiles = profiles;
  o.environ = (char *const *)env;
  o.project_name = json_string_value (json_object_get (req, "project_name"));
  o.project_directory = json_string_value (json_object_get (req, "project_directory"));
  o.cwd = json_string_value (json_object_get (req, "cwd"));
  compose_diags_init (&diags);
  ret = compose_load (&o, out, &diags, err);
  if (ret < 0 && *err == NULL)
    {
      /* the client checked the same file a moment ago; say what changed */
      if ((f = open_memstream (&text, &len)) != NULL)
        {
          compose_diags_print (&diags, f);
          fclose (f);
        }
      stack_error_make (err, EINVAL, "the stack file changed while `up` ran: %s",
                        text ? text : "?");
      free (text);
    }
  compose_diags_free (&diags);
  return ret;
}

static void
drop_pending (void)
{
  size_t i;

  for (i = 0; i < pending.n; i++)
    free_container (pending.add[i]);
  free (pending.add);
  free (pending.replaces);
  memset (&pending, 0, sizeof pending);
}

int
reconcile_prepare (supervisor_t *sv, json_t *req, stack_error_t **err)
{
  compose_project_t *p = NULL;
  cleanup_free bool *selected = NULL;
  cleanup_free size_t *order = NULL;
  cleanup_free const char **names = NULL;
  json_t *services = json_object_get (req, "services");
  bool remove_orphans = json_is_true (json_object_get (req, "remove_orphans"));
  strbuf_t orphans = { 0 };
  size_t i, n, n_names;

  drop_pending ();
  for (i = 0; i < sv->n; i++)
    sv->c[i]->in_op = sv->c[i]->remove = false;
  if (load (req, &p, err) < 0)
    return -1;
  loaded = xrealloc (loaded, (n_loaded + 1) * sizeof *loaded);
  loaded[n_loaded++] = p;

  names = strv_of (services, &n_names);
  selected = xzalloc ((p->n_services + 1) * sizeof *selected);
  order = xmalloc ((p->n_services + 1) * sizeof *order);
  if (n_names == 0)
    for (i = 0; i < p->n_services; i++)
      selected[i] = true;
  else if (compose_select (p, names, n_names, selected, err) < 0)
    return -1;
  n = compose_start_order (p, selected, order);

  for (i = 0; i < n; i++)
    {
      const compose_service_t *svc = &p->services[order[i]];
      sv_container_t *old = sv_find (sv, svc->name), *c;

      if ((c = prepare_container (p, sv->store, svc, err)) == NULL)
        {
          drop_pending ();
          return -1;
        }
      if (old && strcmp (old->plan.config_hash, c->plan.config_hash) == 0
          && strcmp (old->image->id, c->image->id) == 0)
        {
          /* unchanged: left alone, started if it stopped */
          old->in_op = true;
          if (old->phase == SV_RUNNING)
            progress (sv, old->plan.spec.id, "Running");
          free_container (c);
          continue;
        }
      if (old)
        old->remove = true;
      c->in_op = true;
      pending.add = xrealloc (pending.add, (pending.n + 1) * sizeof *pending.add);
      pending.replaces = xrealloc (pending.replaces, (pending.n + 1) * sizeof *pending.replaces);
      pending.add[pending.n] = c;
      pending.replaces[pending.n++] = old;
    }

  /* orphans: containers whose service is no longer in the file */
  for (i = 0; i < sv->n; i++)
    if (compose_service_find (p, sv->c[i]->svc->name) == NULL)
      {
        if (remove_orphans)
          sv->c[i]->remove = true;
        else
          sb_printf (&orphans, "%s%s", orphans.len ? ", " : "", sv->c[i]->plan.spec.id);
      }
  if (orphans.len)
    sv_progress (sv,
                 "stack: warning: found orphan containers (%s) for this project; if you "
                 "removed or renamed their service in the file, `up --remove-orphans` removes "
                 "them",
                 orphans.s);
  sb_free (&orphans);
  for (i = 0; i < pending.n; i++)
    if (pending.replaces[i])
      progress (sv, pending.replaces[i]->plan.spec.id, "Recreate");
  return 0;
}

/* Remove c (stopped) from the host, the state and the supervisor. */
static int
remove_one (supervisor_t *sv, sv_container_t *c, stack_error_t **err)
{
  size_t i, j, at = c->st_index;

  if (c->recorded)
    {
      if (remove_container (&sv->st->containers[at], sv->store, err) < 0)
        return -1;
      state_remove_container (sv->st, at);
      for (i = 0; i < sv->n; i++)
        if (sv->c[i]->recorded && sv->c[i]->st_index > at)
          sv->c[i]->st_index--;
      sv_event (sv, c, "destroy", NULL);
    }
  progress (sv, c->plan.spec.id, "Removed");
  if (c->log)
    logfile_close (c->log);
  c->log = NULL;
  for (j = 0; c->port_fds && j < c->plan.n_ports; j++)
    if (c->port_fds[j] >= 0)
      close (c->port_fds[j]);
  for (i = 0; i < sv->n && sv->c[i] != c; i++)
    ;
  memmove (&sv->c[i], &sv->c[i + 1], (sv->n - i - 1) * sizeof *sv->c);
  sv->n--;
  return 0;
}

int
reconcile_apply (supervisor_t *sv, stack_error_t **err)
{
  sv_container_t **gone = xzalloc ((sv->n + 1) * sizeof *gone);
  size_t i, n_gone = 0;
  int ret = -1;

  for (i = 0; i < sv->n; i++)
    if (sv->c[i]->remove)
      gone[n_gone++] = sv->c[i];
  for (i = 0; i < n_gone; i++)
    if (remove_one (sv, gone[i], err) < 0)
      goto out;
  sv_save (sv);
  sv->c = xrealloc (sv->c, (sv->n + pending.n + 1) * sizeof *sv->c);
  for (i = 0; i < pending.n; i++)
    {
      sv_container_t *c = pending.add[i];
      size_t w = strlen (c->plan.spec.id) - strlen (sv->project->name);
      c->sv = sv;
      c->phase = SV_WAITING;
      c->color = sv->n;
      if (w > sv->name_width)
        sv->name_width = w;
      sv->c[sv->n++] = c;
      pending.add[i] = NULL;
      if (wiring_add (sv, c, pending.replaces[i], err) < 0)
        goto out;
    }
  if (pending.n + n_gone > 0 && wiring_rules (sv, err) < 0)
    goto out;
  /* everyone's /etc/hosts names the newcomers (the file is rewritten in
     place: the containers see the same inode) */
  for (i = 0; i < sv->n; i++)
    if (sv->c[i]->recorded)
      {
        stack_error_t *e = NULL;
        if (container_write_hosts (sv->c[i], &e) < 0)
          {
            /* said, not fatal: the newcomers run; this one lacks their names */
            fprintf (stderr, "stack: %s\n", e->msg);
            stack_error_free (&e);
          }
      }
  ret = 0;
out:
  for (i = 0; i < n_gone; i++)
    free_container (gone[i]);
  free (gone);
  drop_pending ();
  return ret;
}

void
reconcile_free (void)
{
  size_t i;

  drop_pending ();
  for (i = 0; i < n_loaded; i++)
    compose_project_free (loaded[i]);
  free (loaded);
  loaded = NULL;
  n_loaded = 0;
}
