/* test_interpolate.c — ${VAR} and friends: every form, nesting, $$, the exact
   words and positions of each error, and where the values come from (OS
   environment over .env, --env-file). */
#include <stdio.h>
#include <stdlib.h>

#include "helpers.h"

/* Load `yaml` with the process environment `env` (NULL-terminated "K=V"). */
static int
load_env (th_t *t, const char *yaml, const char *const *env)
{
  size_t i;
  th_init (t);
  for (i = 0; env && env[i]; i++)
    t->env[i] = env[i];
  th_write (t, "stack.yml", yaml);
  t->project_name = "test";
  return th_run (t);
}

static const char *const base_env[] = { "FOO=first", "EMPTY=", "PATHY=/srv/data", NULL };

/* The value of label `v` after interpolating `value` (written single-quoted). */
static void
assert_label (const char *value, const char *expected_json, const char *expected_out)
{
  th_t t;
  char *yaml
      = xasprintf ("services:\n  web:\n    image: busybox\n    labels:\n      v: '%s'\n", value);
  int ret = load_env (&t, yaml, base_env);
  if (ret != 0 || strcmp (th_json (&t, "services.web.labels.v"), expected_json) != 0
      || strcmp (t.out, expected_out) != 0)
    print_error ("for '%s': ret %d, got %s, output:\n%s", value, ret,
                 th_json (&t, "services.web.labels.v"), t.out);
  assert_int_equal (ret, 0);
  assert_string_equal (th_json (&t, "services.web.labels.v"), expected_json);
  assert_string_equal (t.out, expected_out);
  free (yaml);
  th_free (&t);
}

/* Loading `value` as label `v` fails with exactly `msg` at 5:10. */
static void
assert_label_error (const char *value, const char *msg)
{
  th_t t;
  char *yaml
      = xasprintf ("services:\n  web:\n    image: busybox\n    labels:\n      v: '%s'\n", value);
  char *expected = xasprintf ("stack: stack.yml:5:10: services.web.labels.v: %s\n", msg);
  assert_int_equal (load_env (&t, yaml, base_env), -1);
  assert_string_equal (t.out, expected);
  free (expected);
  free (yaml);
  th_free (&t);
}

static void
test_simple_forms (void **state)
{
  (void) state;
  assert_label ("$FOO", "\"first\"", "");
  assert_label ("${FOO}", "\"first\"", "");
  assert_label ("a${FOO}b$FOO.c", "\"afirstbfirst.c\"", "");
  /* an unbraced name ends at the first character that cannot be in a name */
  assert_label ("$FOO-bar", "\"first-bar\"", "");
  assert_label ("$FOObar", "\"\"",
                "stack: warning: stack.yml:5:10: services.web.labels.v: variable FOObar is not "
                "set; using an empty string\n");
  assert_label ("${PATHY}/x", "\"/srv/data/x\"", "");
  assert_label ("no variables", "\"no variables\"", "");
}

static void
test_defaults (void **state)
{
  (void) state;
  assert_label ("${UNSET:-def}", "\"def\"", "");
  assert_label ("${EMPTY:-def}", "\"def\"", "");
  assert_label ("${FOO:-def}", "\"first\"", "");
  assert_label ("${UNSET-def}", "\"def\"", "");
  assert_label ("${EMPTY-def}", "\"\"", "");
  assert_label ("${FOO-def}", "\"first\"", "");
  assert_label ("${UNSET:-}", "\"\"", "");
  assert_label ("${EMPTY:-/non:-alphanumeric}", "\"/non:-alphanumeric\"", "");
  assert_label ("${UNSET-myerror?msg}", "\"myerror?msg\"", "");
  assert_label ("${UNSET:-a b c}", "\"a b c\"", "");
}

static void
test_alternatives (void **state)
{
  (void) state;
  assert_label ("${FOO:+alt}", "\"alt\"", "");
  assert_label ("${EMPTY:+alt}", "\"\"", "");
  assert_label ("${UNSET:+alt}", "\"\"", "");
  assert_label ("${FOO+alt}", "\"alt\"", "");
  assert_label ("${EMPTY+alt}", "\"alt\"", "");
  assert_label ("${UNSET+alt}", "\"\"", "");
  assert_label ("--flag${FOO:+=$FOO}", "\"--flag=first\"", "");
}

static void
test_required_set (void **state)
{
  (void) state;
  assert_label ("${FOO:?err}", "\"first\"", "");
  assert_label ("${FOO?err}", "\"first\"", "");
  assert_label ("${EMPTY?err}", "\"\"", "");
  assert_label ("${FOO?bar-baz}", "\"first\"", "");
}

static void
test_dollar_dollar (void **state)
{
  (void) state;
  assert_label ("$$FOO", "\"$FOO\"", "");
  assert_label ("$${FOO}", "\"${FOO}\"", "");
  assert_label ("a$$", "\"a$\"", "");
  assert_label ("$$$FOO", "\"$first\"", "");
  assert_label ("${UNSET:-$$}", "\"$\"", "");
  assert_label ("echo $$HOME $${X:-y}", "\"echo $HOME ${X:-y}\"", "");
}

static void
test_nested (void **state)
{
  (void) state;
  assert_label ("${UNSET:-${FOO:-x}}", "\"first\"", "");
  assert_label ("${UNSET:-${UNSET2:-x}}", "\"x\"", "");
  assert_label ("${UNSET-$FOO}", "\"first\"", "");
  assert_label ("${UNSET-${FOO} ${FOO}}", "\"first first\"", "");
  assert_label ("${EMPTY:-${FOO}/${EMPTY:-z}}", "\"first/z\"", "");
  assert_label ("${UNSET:-{\"k\": 1}}", "\"{\\\"k\\\": 1}\"", "");
  assert_label ("${FOO:+[${FOO}]}", "\"[first]\"", "");
  /* the word after an operator is evaluated only when it is used */
  assert_label ("${FOO:-${NOPE:?never asked}}", "\"first\"", "");
  assert_label ("${FOO:-$NOPE}", "\"first\"", "");
}

static void
test_unset_warns_once (void **state)
{
  th_t t;
  (void) state;
  assert_int_equal (load_env (&t,
                              "services:\n  web:\n    image: \"app:${TAG}\"\n"
                              "    labels:\n      a: \"$TAG\"\n      b: ${OTHER}\n",
                              base_env),
                    0);
  assert_string_equal (th_json (&t, "services.web.image"), "\"app:\"");
  assert_string_equal (th_json (&t, "services.web.labels.a"), "\"\"");
  assert_string_equal (t.out,
                       "stack: warning: stack.yml:3:12: services.web.image: variable TAG is not "
                       "set; using an empty string\n"
                       "stack: warning: stack.yml:6:10: services.web.labels.b: variable OTHER is "
                       "not set; using an empty string\n");
  th_free (&t);
}

/* Past 100 warnings, a count instead of one line each. */
static void
test_unset_warnings_bounded (void **state)
{
  static const char summary[] = "stack: warning: 50 more warnings not shown\n";
  strbuf_t yaml = { 0 };
  const char *p;
  th_t t;
  int i, named = 0;
  (void) state;

  sb_puts (&yaml, "x-list:\n");
  for (i = 0; i < 150; i++)
    sb_printf (&yaml, "  - \"$V%d\"\n", i);
  assert_int_equal (load_env (&t, yaml.s, base_env), 0);
  for (p = t.out; (p = strstr (p, ": variable V")) != NULL; p++)
    named++;
  assert_int_equal (named, 100);
  p = strstr (t.out, summary);
  assert_non_null (p);
  assert_string_equal (p + strlen (summary), "");
  sb_free (&yaml);
  th_free (&t);
}

static void
test_required_errors (void **state)
{
  (void) state;
  assert_label_error ("${UNSET:?Mandatory Variable Unset}",
                      "required variable UNSET is missing a value: Mandatory Variable Unset");
  assert_label_error ("${EMPTY:?must not be empty}",
                      "required variable EMPTY is missing a value: must not be empty");
  assert_label_error ("${UNSET:?}", "required variable UNSET is missing a value");
  assert_label_error ("${UNSET?}", "required variable UNSET is missing a value");
  assert_label_error ("${UNSET?bar-baz}", "required variable UNSET is missing a value: bar-baz");
  assert_label_error ("x ${UNSET?Mandatory ${FOO}}",
                      "required variable UNSET is missing a value: Mandatory first");
  assert_label_error ("${UNSET:-${DEEP:?needed here}}",
                      "required variable DEEP is missing a value: needed here");
}

static void
test_required_message_shown (void **state)
{
  th_t t;
  (void) state;
  assert_int_equal (load_env (&t,
                              "services:\n  db:\n    image: postgres\n    environment:\n"
                              "      DB_PASSWORD: ${DB_PASSWORD:?set it in .env}\n",
                              base_env),
                    -1);
  assert_string_equal (t.out, "stack: stack.yml:5:20: services.db.environment.DB_PASSWORD: "
                              "required variable DB_PASSWORD is missing a value: set it in .env\n");
  th_free (&t);
}

static void
test_invalid_formats (void **state)
{
  (void) state;
  assert_label_error ("cost $5", "invalid interpolation format in `cost $5`: `$` must be "
                                 "followed by a name, `{` or `$`; you may need to escape any $ "
                                 "with another $");
  assert_label_error ("end $", "invalid interpolation format in `end $`: `$` must be followed by "
                               "a name, `{` or `$`; you may need to escape any $ with another $");
  assert_label_error ("$}", "invalid interpolation format in `$}`: `$` must be followed by a name, "
                            "`{` or `$`; you may need to escape any $ with another $");
  assert_label_error ("${", "invalid interpolation format in `${`: `${` is not closed by `}`; you "
                            "may need to escape any $ with another $");
  assert_label_error ("${FOO:-x", "invalid interpolation format in `${FOO:-x`: `${` is not closed "
                                  "by `}`; you may need to escape any $ with another $");
  assert_label_error ("${}", "invalid interpolation format in `${}`: `${` must be followed by a "
                             "variable name (letters, digits and `_`, not starting with a digit); "
                             "you may need to escape any $ with another $");
  assert_label_error ("${ foo}", "invalid interpolation format in `${ foo}`: `${` must be followed "
                                 "by a variable name (letters, digits and `_`, not starting with a "
                                 "digit); you may need to escape any $ with another $");
  assert_label_error ("${1}", "invalid interpolation format in `${1}`: `${` must be followed by a "
                              "variable name (letters, digits and `_`, not starting with a digit); "
                              "you may need to escape any $ with another $");
  assert_label_error ("${foo }", "invalid interpolation format in `${foo }`: unexpected ` ` after "
                                 "`${foo`; expected `}`, `:-`, `-`, `:?`, `?`, `:+` or `+`; you "
                                 "may need to escape any $ with another $");
  assert_label_error ("${foo!}", "invalid interpolation format in `${foo!}`: unexpected `!` after "
                                 "`${foo`; expected `}`, `:-`, `-`, `:?`, `?`, `:+` or `+`; you "
                                 "may need to escape any $ with another $");
  assert_label_error ("${A:}", "invalid interpolation format in `${A:}`: unexpected `}` after "
                               "`${A:`; expected `}`, `:-`, `-`, `:?`, `?`, `:+` or `+`; you may "
                               "need to escape any $ with another $");
  assert_label_error ("${A:é}", "invalid interpolation format in `${A:é}`: unexpected `é` after "
                                "`${A:`; expected `}`, `:-`, `-`, `:?`, `?`, `:+` or `+`; you may "
                                "need to escape any $ with another $");
  /* a broken default is an error even when the default is not needed */
  assert_label_error ("${FOO:-$}", "invalid interpolation format in `${FOO:-$}`: `$` must be "
                                   "followed by a name, `{` or `$`; you may need to escape any $ "
                                   "with another $");
}

static void
test_long_value_shown_around_error (void **state)
{
  (void) state;
  assert_label_error (
      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa bbbbbbbbbbbbbbbbbbbbbbbbb "
      "cost $5 cccccccccccccccccccccccccccccccccccccccccc",
      "invalid interpolation format in `...bbbbbbbbbbbbbb cost $5 "
      "ccccccccccccccccccccccccccccccccccccc...`: `$` must be followed by a name, "
      "`{` or `$`; you may need to escape any $ with another $");
}

static void
test_every_error_reported (void **state)
{
  th_t t;
  (void) state;
  assert_int_equal (load_env (&t,
                              "services:\n"
                              "  web:\n"
                              "    image: ${TAG:?give TAG a value}\n"
                              "    command: [\"ok\", \"${CMD:?}\"]\n"
                              "  db:\n"
                              "    image: \"pg:$\"\n"
                              "x-ok: ${FOO}\n",
                              base_env),
                    -1);
  assert_string_equal (t.out,
                       "stack: stack.yml:3:12: services.web.image: required variable TAG is "
                       "missing a value: give TAG a value\n"
                       "stack: stack.yml:4:21: services.web.command[1]: required variable CMD is "
                       "missing a value\n"
                       "stack: stack.yml:6:12: services.db.image: invalid interpolation format in "
                       "`pg:$`: `$` must be followed by a name, `{` or `$`; you may need to "
                       "escape any $ with another $\n");
  th_free (&t);
}

static void
test_keys_not_interpolated (void **state)
{
  th_t t;
  (void) state;
  assert_int_equal (load_env (&t,
                              "services:\n  web:\n    image: busybox\n"
                              "    labels:\n      \"$FOO\": ${FOO}\n",
                              base_env),
                    0);
  assert_string_equal (th_json (&t, "services.web.labels"), "{\"$FOO\":\"first\"}");
  assert_string_equal (t.out, "");
  th_free (&t);
}

/* ${A:-${A:-...x...}} nested `levels` deep. */
static char *
nested (int levels)
{
  strbuf_t b = { 0 };
  int i;
  for (i = 0; i < levels; i++)
    sb_puts (&b, "${UNSET:-");
  sb_puts (&b, "x");
  for (i = 0; i < levels; i++)
    sb_puts (&b, "}");
  return sb_steal (&b);
}

static void
test_nesting_bounded (void **state)
{
  cleanup_free char *ok = nested (32);
  cleanup_free char *deep = nested (33);
  th_t t;
  char *yaml;
  (void) state;

  assert_label (ok, "\"x\"", "");
  yaml = xasprintf ("x-deep: '%s'\n", deep);
  assert_int_equal (load_env (&t, yaml, base_env), -1);
  assert_string_equal (t.out, "stack: stack.yml:1:9: x-deep: variables nested more than 32 levels "
                              "deep (`${A:-${B:-...}}`); simplify the value\n");
  free (yaml);
  th_free (&t);
}

static void
test_size_bounded (void **state)
{
  th_t t;
  strbuf_t big = { 0 }, yaml = { 0 };
  const char *env[3] = { NULL, NULL, NULL };
  int i;
  (void) state;

  sb_puts (&big, "BIG=");
  for (i = 0; i < 1024; i++)
    sb_putc (&big, 'a');
  env[0] = big.s;
  /* 1025 * 1 KiB: just over the bound */
  sb_puts (&yaml, "x-big: \"");
  for (i = 0; i < 1025; i++)
    sb_puts (&yaml, "$BIG");
  sb_puts (&yaml, "\"\nx-fine: \"");
  for (i = 0; i < 1000; i++)
    sb_puts (&yaml, "$BIG");
  sb_puts (&yaml, "\"\n");
  assert_int_equal (load_env (&t, yaml.s, env), -1);
  assert_string_equal (t.out, "stack: stack.yml:1:8: x-big: the value expands to more than 1 MiB; "
                              "check what its variables hold\n");
  th_free (&t);
  sb_free (&big);
  sb_free (&yaml);
}

static void
test_os_env_over_dotenv (void **state)
{
  th_t t;
  (void) state;
  th_init (&t);
  t.env[0] = "FROM_BOTH=os";
  th_write (&t, ".env", "FROM_BOTH=file\nFROM_FILE=file\n# FROM_COMMENT=no\n");
  th_write (&t, "stack.yml",
            "services:\n  web:\n    image: busybox\n    labels:\n"
            "      both: $FROM_BOTH\n      file: ${FROM_FILE}\n"
            "      comment: ${FROM_COMMENT-unset}\n");
  t.project_name = "test";
  assert_int_equal (th_run (&t), 0);
  assert_string_equal (th_json (&t, "services.web.labels"),
                       "{\"both\":\"os\",\"comment\":\"unset\",\"file\":\"file\"}");
  assert_string_equal (t.out, "");
  th_free (&t);
}

static void
test_env_file_option (void **state)
{
  th_t t;
  (void) state;
  th_init (&t);
  th_write (&t, ".env", "A=dot\n");
  th_write (&t, "one.env", "A=one\nB=one\n");
  th_write (&t, "conf/two.env", "B=two-${A}\nC=${B}\nD=${D_ONLY_HERE:-}${E}\nE=e\nF=$E\n");
  th_write (&t, "stack.yml",
            "services:\n  web:\n    image: busybox\n    labels:\n"
            "      a: $A\n      b: $B\n      c: $C\n      f: $F\n");
  t.env_files[0] = "one.env";
  t.env_files[1] = "conf/two.env";
  t.project_name = "test";
  assert_int_equal (th_run (&t), 0);
  /* .env is not read when --env-file is given; later files win.  A value
     looks names up in the environment and the earlier files first, then
     in its own file (compose-go's order): C sees one.env's B, F sees E. */
  assert_string_equal (th_json (&t, "services.web.labels"),
                       "{\"a\":\"one\",\"b\":\"two-one\",\"c\":\"one\",\"f\":\"e\"}");
  assert_string_equal (t.out, "stack: warning: conf/two.env:3:3: D: variable E is not set; using "
                              "an empty string\n");
  th_free (&t);
}

static void
test_env_file_missing (void **state)
{
  th_t t;
  (void) state;
  th_init (&t);
  th_write (&t, "stack.yml", "services:\n  web:\n    image: busybox\n");
  t.env_files[0] = "nope.env";
  t.project_name = "test";
  assert_int_equal (th_run (&t), -1);
  assert_non_null (strstr (t.out, "cannot read env file `"));
  assert_non_null (strstr (t.out, "/nope.env`: No such file or directory\n"));
  th_free (&t);
}

/* interpolate_str on its own, as other stages call it. */
static void
test_interpolate_str (void **state)
{
  compose_options_t opts = { 0 };
  compose_diags_t diags;
  ld_t ld = { 0 };
  const char *err = NULL, *r;
  char *printed = NULL;
  size_t len = 0;
  FILE *mem;
  (void) state;

  compose_diags_init (&diags);
  ld.arena = arena_new ();
  ld.diags = &diags;
  ld.opts = &opts;
  env_set (ld.arena, &ld.env, "HOST", "db");

  r = interpolate_str (&ld, &ld.env, "postgres://${HOST}:${PORT:-5432}/$$x", &err);
  assert_string_equal (r, "postgres://db:5432/$x");
  assert_null (err);
  r = interpolate_str (&ld, &ld.env, "${NEED:?set NEED}", &err);
  assert_null (r);
  assert_string_equal (err, "required variable NEED is missing a value: set NEED");
  r = interpolate_str (&ld, &ld.env, "plain", &err);
  assert_string_equal (r, "plain");
  r = interpolate_str (&ld, &ld.env, "$GONE", &err);
  assert_string_equal (r, "");

  mem = open_memstream (&printed, &len);
  compose_diags_print (&diags, mem);
  fclose (mem);
  assert_string_equal (printed,
                       "stack: warning: variable GONE is not set; using an empty string\n");
  assert_int_equal (diags.errors, 0);
  free (printed);
  compose_diags_free (&diags);
  arena_free (ld.arena);
}

/* Compose gives the files ${COMPOSE_PROJECT_NAME}, even when the name comes
   from the file itself or from the directory. */
static void
test_project_name_variable (void **state)
{
  th_t t;
  (void) state;

  th_init (&t);
  th_write (&t, "stack.yml", "name: shop\nservices:\n  web:\n    image: ${COMPOSE_PROJECT_NAME}-web\n");
  assert_int_equal (th_run (&t), 0);
  assert_string_equal (th_json (&t, "services.web.image"), "\"shop-web\"");
  th_free (&t);

  th_init (&t);
  th_write (&t, "a.yml", "name: ${PREFIX:-x}-one\nservices:\n  web:\n    image: i\n");
  th_write (&t, "b.yml", "name: two\nservices:\n  web:\n    labels: [p=$COMPOSE_PROJECT_NAME]\n");
  t.files[0] = "a.yml";
  t.files[1] = "b.yml";
  assert_int_equal (th_run (&t), 0);
  assert_string_equal (th_json (&t, "name"), "\"two\"");
  assert_string_equal (th_json (&t, "services.web.labels.p"), "\"two\"");
  th_free (&t);

  th_init (&t);
  th_write (&t, "stack.yml", "name: ${NOPE:?say which}\nservices: {}\n");
  assert_int_equal (th_run (&t), -1);
  assert_string_equal (t.out, "stack: stack.yml:1:7: name: required variable NOPE is missing a "
                              "value: say which\n");
  th_free (&t);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_simple_forms),
    cmocka_unit_test (test_defaults),
    cmocka_unit_test (test_alternatives),
    cmocka_unit_test (test_required_set),
    cmocka_unit_test (test_dollar_dollar),
    cmocka_unit_test (test_nested),
    cmocka_unit_test (test_unset_warns_once),
    cmocka_unit_test (test_unset_warnings_bounded),
    cmocka_unit_test (test_required_errors),
    cmocka_unit_test (test_required_message_shown),
    cmocka_unit_test (test_invalid_formats),
    cmocka_unit_test (test_long_value_shown_around_error),
    cmocka_unit_test (test_every_error_reported),
    cmocka_unit_test (test_keys_not_interpolated),
    cmocka_unit_test (test_nesting_bounded),
    cmocka_unit_test (test_size_bounded),
    cmocka_unit_test (test_os_env_over_dotenv),
    cmocka_unit_test (test_env_file_option),
    cmocka_unit_test (test_env_file_missing),
    cmocka_unit_test (test_interpolate_str),
    cmocka_unit_test (test_project_name_variable),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
