/* emit.c — the model printed as `stack config` shows it: JSON through
   jansson, YAML through libyaml's emitter. Keys sorted, as Compose prints. */
#include <jansson.h>
#include <math.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "compose-internal.h"

static json_t *
to_json (arena_t *a, const node_t *n)
{
  json_t *j;
  size_t i;
  enum node_kind k;

  if (n == NULL)
    return json_null ();
  k = n->kind == N_SCALAR ? scalar_resolve (n) : n->kind;
  switch (k)
    {
    case N_NULL:
      return json_null ();
    case N_BOOL:
      if (n->kind == N_SCALAR)
        {
          bool b = false;
          scalar_to_bool (n, &b);
          return json_boolean (b);
        }
      return json_boolean (n->b);
    case N_INT:
      {
        long long v = n->i;
        if (n->kind == N_SCALAR)
          scalar_to_int (n, &v);
        return json_integer (v);
      }
    case N_FLOAT:
      {
        double v = n->f;
        if (n->kind == N_SCALAR)
          scalar_to_double (n, &v);
        if (!isfinite (v)) /* JSON has no infinities: keep the text */
          return json_string (node_text (a, n));
        return json_real (v);
      }
    case N_SCALAR:
    case N_STR:
      return json_string (n->str ? n->str : "");
    case N_SEQ:
      j = json_array ();
      for (i = 0; i < n->len; i++)
        json_array_append_new (j, to_json (a, n->items[i]));
      return j;
    case N_MAP:
      j = json_object ();
      for (i = 0; i < n->len; i++)
        json_object_set_new (j, n->entries[i].key, to_json (a, n->entries[i].value));
      return j;
    }
  return json_null ();
}

/* ---- YAML ---- */

struct emit
{
  yaml_emitter_t em;
  yaml_event_t ev;
  bool failed;
};

/* yaml_emitter_emit takes the event, even when it fails; after a failure
   we must free the events we no longer hand over. */
static void
emit_event (struct emit *e)
{
  if (e->failed)
    yaml_event_delete (&e->ev);
  else if (!yaml_emitter_emit (&e->em, &e->ev))
    e->failed = true;
}

/* A string must be quoted when a YAML reader would take it for something
   else: a number, a boolean, null, or empty — and, for YAML 1.1 readers
   (PyYAML, older tools), also yes/no/on/off and number-like text such as
   1:30 (base 60), 1_000 or 2024-01-01 (a date). */
static bool
needs_quotes (const char *s)
{
  static const char *const words[] = { "y", "n", "yes", "no", "on", "off" };
  node_t probe = { .kind = N_SCALAR, .str = s };
  size_t i;

  if (scalar_resolve (&probe) != N_STR)
    return true;
  for (i = 0; i < ARRAY_SIZE (words); i++)
    if (strcasecmp (s, words[i]) == 0)
      return true;
  if (strchr ("0123456789+-.", s[0]) != NULL && s[strspn (s, "0123456789:._+-eExXoObB")] == '\0')
    return true;
  return false;
}

static void
emit_scalar (struct emit *e, const char *text, bool quote)
{
  yaml_scalar_event_initialize (&e->ev, NULL, NULL, (yaml_char_t *) text, (int) strlen (text),
                                !quote, 1,
                                quote ? YAML_DOUBLE_QUOTED_SCALAR_STYLE : YAML_ANY_SCALAR_STYLE);
  emit_event (e);
}

static void
emit_node (struct emit *e, arena_t *a, const node_t *n)
{
  size_t i;
  enum node_kind k;

  if (n == NULL)
    {
      emit_scalar (e, "null", false);
      return;
    }
  k = n->kind == N_SCALAR ? scalar_resolve (n) : n->kind;
  switch (k)
    {
    case N_NULL:
      emit_scalar (e, "null", false);
      break;
    case N_BOOL:
    case N_INT:
    case N_FLOAT:
      emit_scalar (e, node_text (a, n), false);
      break;
    case N_SCALAR:
    case N_STR:
      emit_scalar (e, n->str ? n->str : "", needs_quotes (n->str ? n->str : ""));
      break;
    case N_SEQ:
      yaml_sequence_start_event_initialize (&e->ev, NULL, NULL, 1, YAML_BLOCK_SEQUENCE_STYLE);
      emit_event (e);
      for (i = 0; i < n->len; i++)
        emit_node (e, a, n->items[i]);
      yaml_sequence_end_event_initialize (&e->ev);
      emit_event (e);
      break;
    case N_MAP:
      yaml_mapping_start_event_initialize (&e->ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE);
      emit_event (e);
      for (i = 0; i < n->len; i++)
        {
          emit_scalar (e, n->entries[i].key, needs_quotes (n->entries[i].key));
          emit_node (e, a, n->entries[i].value);
        }
      yaml_mapping_end_event_initialize (&e->ev);
      emit_event (e);
      break;
    }
}

static int
write_cb (void *data, unsigned char *buf, size_t size)
{
  return fwrite (buf, 1, size, (FILE *) data) == size;
}

static void
sort_tree (node_t *n)
{
  size_t i;
  if (n == NULL)
    return;
  if (n->kind == N_MAP)
    {
      node_map_sort (n);
      for (i = 0; i < n->len; i++)
        sort_tree (n->entries[i].value);
    }
  else if (n->kind == N_SEQ)
    for (i = 0; i < n->len; i++)
      sort_tree (n->items[i]);
}

char *
node_to_json_text (const node_t *n)
{
  arena_t *a = arena_new ();
  node_t *copy = node_copy (a, n);
  json_t *j;
  char *s;

  sort_tree (copy);
  j = to_json (a, copy);
  s = json_dumps (j, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION (15));
  json_decref (j);
  arena_free (a);
  return s;
}

int
compose_print_model (const compose_project_t *p, enum compose_format fmt, FILE *out,
                     stack_error_t **err)
{
  struct emit e = { 0 };

  sort_tree (p->model);
  if (fmt == COMPOSE_FORMAT_JSON)
    {
      json_t *j = to_json (p->arena, p->model);
      int ret = json_dumpf (j, out, JSON_INDENT (2) | JSON_REAL_PRECISION (15));
      json_decref (j);
      if (ret < 0)
        return stack_error_make (err, 0, "cannot write JSON");
      fputc ('\n', out);
      return 0;
    }

  if (!yaml_emitter_initialize (&e.em))
    return stack_error_make (err, 0, "cannot initialise the YAML emitter");
  yaml_emitter_set_output (&e.em, write_cb, out);
  yaml_emitter_set_unicode (&e.em, 1);
  yaml_emitter_set_width (&e.em, -1);
  yaml_stream_start_event_initialize (&e.ev, YAML_UTF8_ENCODING);
  emit_event (&e);
  yaml_document_start_event_initialize (&e.ev, NULL, NULL, NULL, 1);
  emit_event (&e);
  emit_node (&e, p->arena, p->model);
  yaml_document_end_event_initialize (&e.ev, 1);
  emit_event (&e);
  yaml_stream_end_event_initialize (&e.ev);
  emit_event (&e);
  yaml_emitter_delete (&e.em);
  if (e.failed)
    return stack_error_make (err, 0, "cannot write YAML");
  return 0;
}

void
compose_print_volume_names (const compose_project_t *p, FILE *out)
{
  node_t *vols = node_map_get (p->model, "volumes");
  size_t i;
  for (i = 0; vols && i < vols->len; i++)
    fprintf (out, "%s\n", vols->entries[i].key);
}
