/* extends.c — `extends: NAME` and `extends: {service: NAME, file: PATH}`.

   A service that extends another starts from a copy of that service (itself
   resolved first, so chains work, across files too) and is merged over it by
   the same rules as -f files; its own keys win.  As in Compose, depends_on
   and volumes_from are never inherited: dependencies stay visible in the
   file that declares them.  Another file is loaded with its own directory as
   the base of its relative paths; its nodes keep that directory in their
   marks, so normalization resolves them where they were written.

   Last, every value still tagged `!reset` is dropped from the tree: this
   stage always runs, after every merge. */
#include <string.h>

#include "merge-internal.h"

enum ext_state
{
  EXT_BUSY = 1, /* being resolved: meeting it again is a cycle */
  EXT_DONE,
  EXT_FAILED, /* reported already */
};

/* One file services are taken from: the project itself (abs NULL) or a
   file named by `extends.file`, loaded once. */
typedef struct ext_file
{
  const char *abs;
  const char *display;
  node_t *services;
  struct ext_file *next;
} ext_file_t;

typedef struct ext_mark
{
  const ext_file_t *file;
  const char *name;
  enum ext_state state;
} ext_mark_t;

/* One step of the chain being resolved, for the cycle message. */
typedef struct ext_link
{
  const ext_file_t *file;
  const char *name;
  const node_t *at; /* the extends node */
  const char *path;
  const struct ext_link *up;
} ext_link_t;

typedef struct ext
{
  ld_t *ld;
  ext_file_t project;
  ext_file_t *loaded;
  ext_mark_t *marks;
  size_t n_marks, cap_marks;
} ext_t;

static ext_mark_t *
mark_of (ext_t *x, const ext_file_t *file, const char *name)
{
  size_t i;
  for (i = 0; i < x->n_marks; i++)
    if (x->marks[i].file == file && strcmp (x->marks[i].name, name) == 0)
      return &x->marks[i];
  if (x->n_marks == x->cap_marks)
    {
      ext_mark_t *grown;
      x->cap_marks = x->cap_marks ? x->cap_marks * 2 : 16;
      grown = arena_alloc (x->ld->arena, x->cap_marks * sizeof *grown);
      if (x->n_marks)
        memcpy (grown, x->marks, x->n_marks * sizeof *grown);
      x->marks = grown;
    }
  x->marks[x->n_marks] = (ext_mark_t){ .file = file, .name = name };
  return &x->marks[x->n_marks++];
}

/* "a -> b -> a", naming the file of each service from another file. */
static void
report_cycle (ext_t *x, const ext_link_t *chain, const ext_file_t *file, const char *name)
{
  const ext_link_t *steps[64];
  const ext_link_t *l, *first = NULL;
  strbuf_t b = { 0 };
  size_t n = 0, i;

  for (l = chain; l && n < ARRAY_SIZE (steps); l = l->up)
    {
      steps[n++] = l;
      if (l->file == file && strcmp (l->name, name) == 0)
        {
          first = l;
          break;
        }
    }
  if (first == NULL)
    return;
  for (i = n; i-- > 0;)
    {
      sb_puts (&b, steps[i]->name);
      if (steps[i]->file->abs)
        sb_printf (&b, " (%s)", steps[i]->file->display);
      sb_puts (&b, " -> ");
    }
  sb_puts (&b, name);
  if (file->abs)
    sb_printf (&b, " (%s)", file->display);
  diag_error (x->ld, first->at->mark, first->path, "extends cycle: %s", b.s);
  sb_free (&b);
}

static ext_file_t *
load_other (ext_t *x, const node_t *file_node, const char *path)
{
  ld_t *ld = x->ld;
  const char *abs
      = path_resolve (ld, node_base_dir (ld, file_node), node_text (ld->arena, file_node));
  ext_file_t *f;
  node_t *root;

  for (f = x->loaded; f; f = f->next)
    if (strcmp (f->abs, abs) == 0)
      return f;
  root = load_file (ld, abs, merge_dir_of (ld, abs), &ld->env, file_node, path);
  if (root == NULL)
    return NULL;
  f = arena_alloc (ld->arena, sizeof *f);
  f->abs = abs;
  f->display = root->mark.src ? root->mark.src->path : abs;
  f->services = node_map_get (root, "services");
  f->next = x->loaded;
  x->loaded = f;
  return f;
}

/* What `extends` names: *ref and *file_node (NULL for the same file). */
static bool
parse_extends (ext_t *x, const node_t *ext, const char *path, const node_t **ref,
               const node_t **file_node)
{
  ld_t *ld = x->ld;
  size_t i;
  bool ok = true;

  *file_node = NULL;
  if (node_is_scalar (ext))
    {
      *ref = ext;
      return true;
    }
  if (ext->kind != N_MAP)
    {
      diag_error (ld, ext->mark, path,
                  "must be a service name or a mapping {service: NAME, file: PATH}, not %s",
                  node_kind_name (ext));
      return false;
    }
  *ref = NULL;
  for (i = 0; i < ext->len; i++)
    {
      const node_entry_t *e = &ext->entries[i];
      const char *sub = path_key (ld->arena, path, e->key);
      bool is_service = strcmp (e->key, "service") == 0;
      if (!is_service && strcmp (e->key, "file") != 0)
        {
          diag_error (ld, e->key_mark, sub, "unknown key (extends takes `service` and `file`)");
          ok = false;
        }
      else if (!node_is_scalar (e->value))
        {
          diag_error (ld, e->value->mark, sub, "must be a string, not %s",
                      node_kind_name (e->value));
          ok = false;
        }
      else if (is_service)
        *ref = e->value;
      else
        *file_node = e->value;
    }
  if (ok && *ref == NULL)
    {
      diag_error (ld, ext->mark, path, "`service` is missing: name the service to extend");
      ok = false;
    }
  return ok;
}

static node_t *resolve (ext_t *x, ext_file_t *file, const char *name, const ext_link_t *chain);

/* Resolve `extends` of service `name` in `file`; the service as it ends up,
   or NULL when it cannot be (reported). */
static node_t *
resolve_one (ext_t *x, ext_file_t *file, const char *name, node_t *svc, ext_mark_t *m,
             const ext_link_t *chain)
{
  ld_t *ld = x->ld;
  const char *path = path_key (ld->arena, path_key (ld->arena, "services", name), "extends");
  node_t *ext = node_map_get (svc, "extends");
  const node_t *ref_node, *file_node;
  ext_file_t *from = file;
  ext_link_t link = { .file = file, .name = name, .at = ext, .path = path, .up = chain };
  const char *ref;
  node_t *base, *merged;

  if (!parse_extends (x, ext, path, &ref_node, &file_node))
    return NULL;
  ref = node_text (ld->arena, ref_node);
  if (file_node)
    {
      from = load_other (x, file_node, path_key (ld->arena, path, "file"));
      if (from == NULL)
        return NULL;
      if (from->services == NULL || from->services->kind != N_MAP)
        {
          diag_error (ld, file_node->mark, path_key (ld->arena, path, "file"),
                      "`%s` has no services to extend", from->display);
          return NULL;
        }
    }
  if (from->services == NULL || node_map_get (from->services, ref) == NULL)
    {
      const char *at = ref_node == ext ? path : path_key (ld->arena, path, "service");
      if (from->abs)
        diag_error (ld, ref_node->mark, at, "no service `%s` in `%s` to extend", ref,
                    from->display);
      else
        diag_error (ld, ref_node->mark, at, "no service `%s` to extend", ref);
      return NULL;
    }
  m->state = EXT_BUSY;
  base = resolve (x, from, ref, &link);
  if (base == NULL)
    return NULL;
  base = node_copy (ld->arena, base);
  if (base->kind != N_MAP)
    base = node_new (ld->arena, N_MAP, base->mark);
  node_map_del (base, "depends_on");
  node_map_del (base, "volumes_from");
  node_map_del (svc, "extends");
  merged = merge_services (ld, base, svc);
  node_map_set (ld->arena, file->services, name, merged);
  return merged;
}

static node_t *
resolve (ext_t *x, ext_file_t *file, const char *name, const ext_link_t *chain)
{
  node_t *svc = node_map_get (file->services, name);
  ext_mark_t *m;
  node_t *out;

  if (svc == NULL || svc->kind != N_MAP || node_map_find (svc, "extends") == NULL)
    return svc;
  m = mark_of (x, file, name);
  if (m->state == EXT_BUSY)
    {
      report_cycle (x, chain, file, name);
      return NULL;
    }
  if (m->state == EXT_FAILED)
    return NULL;
  out = resolve_one (x, file, name, svc, m, chain);
  /* mark_of may have grown the table meanwhile */
  m = mark_of (x, file, name);
  m->state = out ? EXT_DONE : EXT_FAILED;
  return out;
}

void
extends_resolve (ld_t *ld, node_t *root)
{
  ext_t x = { .ld = ld };
  node_t *services = node_map_get (root, "services");
  size_t i;

  x.project.services = services;
  if (services && services->kind == N_MAP)
    for (i = 0; i < services->len && !diag_full (ld); i++)
      resolve (&x, &x.project, services->entries[i].key, NULL);
  merge_strip_resets (root);
}
