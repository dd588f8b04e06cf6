/* yaml.c — libyaml events into a node tree that remembers every position.
   Anchors are expanded (bounded, against "billion laughs"), `<<` merge keys
   applied, duplicate keys and tab indentation reported in plain words. */
#include <string.h>
#include <yaml.h>

#include "compose-internal.h"

/* Nodes an alias may copy in one file, all aliases together: far above any
   real stack file, far below what would exhaust memory. */
#define ALIAS_NODES_MAX 1000000
#define DEPTH_MAX 200

struct anchor
{
  const char *name;
  node_t *node;
};

struct parse
{
  ld_t *ld;
  const source_t *src;
  const char *text;
  size_t len;
  yaml_parser_t parser;
  yaml_event_t ev;
  bool have_ev;
  struct anchor *anchors;
  size_t n_anchors, cap_anchors;
  size_t alias_nodes;
  int depth;
  bool failed;
};

static mark_t
mk (const struct parse *p, yaml_mark_t m)
{
  return (mark_t){ .src = p->src, .line = (unsigned) m.line + 1, .col = (unsigned) m.column + 1 };
}

static void
fail (struct parse *p, mark_t m, const char *fmt, ...) PRINTF_LIKE (3, 4);

static void
fail (struct parse *p, mark_t m, const char *fmt, ...)
{
  cleanup_free char *msg = NULL;
  va_list ap;
  if (p->failed)
    return;
  va_start (ap, fmt);
  msg = xvasprintf (fmt, ap);
  va_end (ap);
  diag_error (p->ld, m, NULL, "%s", msg);
  p->failed = true;
}

/* libyaml's own words, with the one mistake people make most spelled out. */
static void
fail_syntax (struct parse *p)
{
  yaml_parser_t *y = &p->parser;
  mark_t m = mk (p, y->problem_mark);
  size_t off = y->problem_mark.index;

  if (off < p->len && p->text[off] == '\t')
    {
      fail (p, m, "invalid YAML: a tab character; YAML indents with spaces only");
      return;
    }
  if (y->context)
    fail (p, m, "invalid YAML: %s %s (line %u)", y->problem ? y->problem : "error", y->context,
          (unsigned) y->context_mark.line + 1);
  else
    fail (p, m, "invalid YAML: %s", y->problem ? y->problem : "unknown error");
}

static bool
next (struct parse *p)
{
  if (p->have_ev)
    yaml_event_delete (&p->ev);
  p->have_ev = false;
  if (!yaml_parser_parse (&p->parser, &p->ev))
    {
      fail_syntax (p);
      return false;
    }
  p->have_ev = true;
  return true;
}

static void
remember_anchor (struct parse *p, const yaml_char_t *anchor, node_t *n)
{
  arena_t *a = p->ld->arena;
  if (anchor == NULL)
    return;
  if (p->n_anchors == p->cap_anchors)
    {
      struct anchor *bigger;
      p->cap_anchors = p->cap_anchors ? p->cap_anchors * 2 : 8;
      bigger = arena_alloc (a, p->cap_anchors * sizeof *bigger);
      if (p->n_anchors)
        memcpy (bigger, p->anchors, p->n_anchors * sizeof *bigger);
      p->anchors = bigger;
    }
  p->anchors[p->n_anchors].name = arena_strdup (a, (const char *) anchor);
  p->anchors[p->n_anchors].node = n;
  p->n_anchors++;
}

static size_t
count_nodes (const node_t *n, size_t limit)
{
  size_t c = 1, i;
  if (n->kind == N_SEQ)
    for (i = 0; i < n->len && c <= limit; i++)
      c += count_nodes (n->items[i], limit);
  else if (n->kind == N_MAP)
    for (i = 0; i < n->len && c <= limit; i++)
      c += count_nodes (n->entries[i].value, limit);
  return c;
}

static node_t *
expand_alias (struct parse *p, const char *name, mark_t at)
{
  size_t i;
  for (i = p->n_anchors; i-- > 0;)
    if (strcmp (p->anchors[i].name, name) == 0)
      {
        node_t *target = p->anchors[i].node;
        p->alias_nodes += count_nodes (target, ALIAS_NODES_MAX);
        if (p->alias_nodes > ALIAS_NODES_MAX)
          {
            fail (p, at, "invalid YAML: aliases expand to more than %d nodes", ALIAS_NODES_MAX);
            return NULL;
          }
        /* A copy: later stages edit nodes in place, and an alias must not
           change its anchor. */
        return node_copy (p->ld->arena, target);
      }
  fail (p, at, "invalid YAML: unknown anchor `%s`", name);
  return NULL;
}

static bool
apply_tag (struct parse *p, node_t *n, const yaml_char_t *tag, mark_t m)
{
  const char *t = (const char *) tag;
  if (t == NULL || strcmp (t, "!") == 0)
    return true;
  if (strcmp (t, "!reset") == 0)
    n->flags |= NODE_RESET;
  else if (strcmp (t, "!override") == 0)
    n->flags |= NODE_OVERRIDE;
  else if (strcmp (t, YAML_STR_TAG) == 0)
    n->flags |= NODE_QUOTED;
  else if (str_has_prefix (t, "tag:yaml.org,2002:"))
    ; /* the standard tags of the core schema: the key's type decides anyway */
  else
    {
      fail (p, m, "invalid YAML: unknown tag `%s` (stack knows !reset and !override)", t);
      return false;
    }
  return true;
}

static node_t *parse_node (struct parse *p);

/* Keys from `<<` fill in only what the mapping does not set itself; with a
   list of maps, earlier maps win (YAML merge key spec). */
static void
merge_into (struct parse *p, node_t *map, node_t *src, node_t *explicit_keys)
{
  size_t i;
  for (i = 0; i < src->len; i++)
    {
      const node_entry_t *e = &src->entries[i];
      if (node_map_find (explicit_keys, e->key) || node_map_find (map, e->key))
        continue;
      node_map_set_mark (p->ld->arena, map, e->key, e->key_mark, e->value);
    }
}

static node_t *
parse_mapping (struct parse *p)
{
  arena_t *a = p->ld->arena;
  node_t *map = node_new (a, N_MAP, mk (p, p->ev.start_mark));
  node_t *merges[64];
  size_t n_merges = 0, i, j;

  if (!apply_tag (p, map, p->ev.data.mapping_start.tag, map->mark))
    return NULL;
  remember_anchor (p, p->ev.data.mapping_start.anchor, map);
  for (;;)
    {
      node_t *key, *value;
      const char *k;

      if (!next (p))
        return NULL;
      if (p->ev.type == YAML_MAPPING_END_EVENT)
        break;
      key = parse_node (p);
      if (key == NULL)
        return NULL;
      if (!node_is_scalar (key) && key->kind != N_NULL)
        {
          fail (p, key->mark, "invalid YAML: a key must be a plain value, not %s",
                node_kind_name (key));
          return NULL;
        }
      k = key->kind == N_NULL ? "" : key->str;
      if (!next (p))
        return NULL;
      value = parse_node (p);
      if (value == NULL)
        return NULL;
      if (strcmp (k, "<<") == 0 && !(key->flags & NODE_QUOTED))
        {
          if (value->kind == N_MAP && n_merges < ARRAY_SIZE (merges))
            merges[n_merges++] = value;
          else if (value->kind == N_SEQ)
            for (j = 0; j < value->len; j++)
              {
                if (value->items[j]->kind != N_MAP)
                  {
                    fail (p, value->items[j]->mark,
                          "invalid YAML: `<<` merges mappings, not %s",
                          node_kind_name (value->items[j]));
                    return NULL;
                  }
                if (n_merges < ARRAY_SIZE (merges))
                  merges[n_merges++] = value->items[j];
              }
          else
            {
              fail (p, value->mark, "invalid YAML: `<<` merges mappings, not %s",
                    node_kind_name (value));
              return NULL;
            }
          continue;
        }
      {
        node_entry_t *dup = node_map_find (map, k);
        if (dup)
          {
            /* keep going: report every duplicate, not only the first */
            diag_error (p->ld, key->mark, NULL, "duplicate key `%s` (first at line %u)", k,
                        dup->key_mark.line);
            continue;
          }
      }
      node_map_set_mark (a, map, k, key->mark, value);
    }
  for (i = 0; i < n_merges; i++)
    merge_into (p, map, merges[i], map);
  return map;
}

static node_t *
parse_sequence (struct parse *p)
{
  node_t *seq = node_new (p->ld->arena, N_SEQ, mk (p, p->ev.start_mark));

  if (!apply_tag (p, seq, p->ev.data.sequence_start.tag, seq->mark))
    return NULL;
  remember_anchor (p, p->ev.data.sequence_start.anchor, seq);
  for (;;)
    {
      node_t *item;
      if (!next (p))
        return NULL;
      if (p->ev.type == YAML_SEQUENCE_END_EVENT)
        break;
      item = parse_node (p);
      if (item == NULL)
        return NULL;
      node_seq_push (p->ld->arena, seq, item);
    }
  return seq;
}

static node_t *
parse_scalar (struct parse *p)
{
  const yaml_event_t *e = &p->ev;
  mark_t m = mk (p, e->start_mark);
  node_t *n;
  bool plain = e->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
  const char *text = (const char *) e->data.scalar.value;

  if (plain && e->data.scalar.tag == NULL
      && (e->data.scalar.length == 0 || strcmp (text, "~") == 0 || strcmp (text, "null") == 0
          || strcmp (text, "Null") == 0 || strcmp (text, "NULL") == 0))
    n = node_new (p->ld->arena, N_NULL, m);
  else
    {
      n = node_new (p->ld->arena, N_SCALAR, m);
      n->str = arena_strndup (p->ld->arena, text, e->data.scalar.length);
      if (!plain)
        n->flags |= NODE_QUOTED;
    }
  if (!apply_tag (p, n, e->data.scalar.tag, m))
    return NULL;
  remember_anchor (p, e->data.scalar.anchor, n);
  return n;
}

static node_t *
parse_node (struct parse *p)
{
  node_t *n = NULL;

  if (++p->depth > DEPTH_MAX)
    {
      fail (p, mk (p, p->ev.start_mark), "invalid YAML: nested deeper than %d levels", DEPTH_MAX);
      return NULL;
    }
  switch (p->ev.type)
    {
    case YAML_SCALAR_EVENT:
      n = parse_scalar (p);
      break;
    case YAML_SEQUENCE_START_EVENT:
      n = parse_sequence (p);
      break;
    case YAML_MAPPING_START_EVENT:
      n = parse_mapping (p);
      break;
    case YAML_ALIAS_EVENT:
      n = expand_alias (p, (const char *) p->ev.data.alias.anchor, mk (p, p->ev.start_mark));
      break;
    default:
      fail (p, mk (p, p->ev.start_mark), "invalid YAML: unexpected event");
      break;
    }
  p->depth--;
  return n;
}

node_t *
yaml_parse (ld_t *ld, const source_t *src, const char *text, size_t len)
{
  struct parse p = { .ld = ld, .src = src, .text = text, .len = len };
  node_t *root = NULL;

  if (!yaml_parser_initialize (&p.parser))
    {
      diag_error (ld, (mark_t){ .src = src }, NULL, "cannot initialise the YAML parser");
      return NULL;
    }
  yaml_parser_set_input_string (&p.parser, (const unsigned char *) text, len);

  if (!next (&p) || p.ev.type != YAML_STREAM_START_EVENT)
    goto out;
  if (!next (&p))
    goto out;
  if (p.ev.type == YAML_STREAM_END_EVENT)
    {
      root = node_new (ld->arena, N_MAP, (mark_t){ .src = src, .line = 1, .col = 1 });
      goto out;
    }
  if (!next (&p)) /* past DOCUMENT-START */
    goto out;
  if (p.ev.type == YAML_DOCUMENT_END_EVENT)
    root = node_new (ld->arena, N_MAP, (mark_t){ .src = src, .line = 1, .col = 1 });
  else
    {
      root = parse_node (&p);
      if (root == NULL || !next (&p)) /* DOCUMENT-END */
        {
          root = NULL;
          goto out;
        }
    }
  if (!next (&p))
    {
      root = NULL;
      goto out;
    }
  if (p.ev.type == YAML_DOCUMENT_START_EVENT)
    {
      fail (&p, mk (&p, p.ev.start_mark),
            "invalid YAML: a second document (`---`); a stack file holds one");
      root = NULL;
      goto out;
    }
  if (root->kind == N_NULL)
    root = node_new (ld->arena, N_MAP, root->mark);
  if (root->kind != N_MAP)
    {
      fail (&p, root->mark, "the top level must be a mapping of keys (services:, ...), not %s",
            node_kind_name (root));
      root = NULL;
    }

out:
  if (p.have_ev)
    yaml_event_delete (&p.ev);
  yaml_parser_delete (&p.parser);
  ld->nodes_made += p.alias_nodes;
  return p.failed ? NULL : root;
}
