/* A small C CLI over libtermauth's batteries-included client.
 *
 *   termauth-example login ISSUER CLIENT_ID [SCOPE]       chosen from where it runs (device over SSH, …)
 *   termauth-example login-device ISSUER CLIENT_ID [SCOPE] device flow (prints the code on stderr)
 *   termauth-example login-ci ISSUER CLIENT_ID [SCOPE]    client credentials (secret: TERMAUTH_CLIENT_SECRET)
 *   termauth-example token ISSUER CLIENT_ID               a fresh access token on stdout: $(termauth-example token …)
 *   termauth-example status ISSUER CLIENT_ID              JSON
 *   termauth-example logout ISSUER CLIENT_ID              revoke, then forget
 *   termauth-example version
 *
 * Credentials live in the keyring (or a 0600 file) of the app "termauth-example";
 * EXAMPLE_CONFIG_DIR overrides its config directory. Every sentence shown is termauth's, and
 * so are the exit codes: 3 log in again, 4 try again later, 5 fix the configuration, 6 other,
 * 130 cancelled. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <termauth.h>

#define S(str) (const uint8_t *)(str), strlen(str)

static int report(termauth_error *err) {
  termauth_str msg = termauth_error_message(err), code = termauth_error_code(err);
  fprintf(stderr, "error: %s [%s]\n", msg.data ? msg.data : "unknown error", code.data ? code.data : "?");
  int rc = termauth_error_exit_code(err);
  termauth_error_free(err);
  return rc;
}

/* Prints the sentence of a report (its "text"), or the report itself. */
static void print_text(const char *report_json) {
  char *text = NULL;
  if (termauth_json_get_string(S(report_json), S("/text"), &text, NULL) == TERMAUTH_STATUS_OK && text) {
    fprintf(stderr, "%s\n", text);
    termauth_string_free(text);
  } else {
    printf("%s\n", report_json);
  }
}

int main(int argc, char **argv) {
  if (termauth_abi_version() != TERMAUTH_ABI_VERSION) {
    fprintf(stderr, "libtermauth ABI %u, built against %u\n", termauth_abi_version(), TERMAUTH_ABI_VERSION);
    return 6;
  }
  if (argc >= 2 && strcmp(argv[1], "version") == 0) {
    printf("libtermauth %s (ABI %u)\n", termauth_version(), termauth_abi_version());
    return 0;
  }
  if (argc < 4) {
    fprintf(stderr, "usage: %s login|login-device|login-ci|token|status|logout ISSUER CLIENT_ID [SCOPE]\n", argv[0]);
    return 2;
  }
  const char *cmd = argv[1], *scope = argc > 4 ? argv[4] : "openid offline_access";
  const char *dir = getenv("EXAMPLE_CONFIG_DIR");
  char config[4096];
  /* (A real program would JSON-escape these; issuer and client ids are plain here.) */
  snprintf(config, sizeof config, "{\"app\":\"termauth-example\",\"issuer\":\"%s\",\"client_id\":\"%s\",\"scope\":\"%s\"%s%s%s}",
           argv[2], argv[3], scope, dir ? ",\"config_dir\":\"" : "", dir ? dir : "", dir ? "\"" : "");

  termauth_client *client = NULL;
  termauth_error *err = NULL;
  if (termauth_client_new(S(config), &client, &err) != TERMAUTH_STATUS_OK) return report(err);

  int rc = 0, login = strncmp(cmd, "login", 5) == 0 || strcmp(cmd, "logout") == 0;
  char *out = NULL;
  termauth_status st;
  if (strcmp(cmd, "login") == 0) {
    st = termauth_client_login(client, TERMAUTH_LOGIN_AUTO, &out, &err);
  } else if (strcmp(cmd, "login-device") == 0) {
    st = termauth_client_login(client, TERMAUTH_LOGIN_DEVICE, &out, &err);
  } else if (strcmp(cmd, "login-ci") == 0) {
    st = termauth_client_login(client, TERMAUTH_LOGIN_CLIENT_CREDENTIALS, &out, &err);
  } else if (strcmp(cmd, "token") == 0) {
    st = termauth_client_get_token(client, &out, &err);
  } else if (strcmp(cmd, "status") == 0) {
    st = termauth_client_status_json(client, &out, &err);
  } else if (strcmp(cmd, "logout") == 0) {
    st = termauth_client_logout(client, &out, &err);
  } else {
    fprintf(stderr, "unknown command %s\n", cmd);
    termauth_client_free(client);
    return 2;
  }
  if (st == TERMAUTH_STATUS_OK) {
    if (login) {
      print_text(out);
    } else {
      printf("%s\n", out);
    }
    termauth_string_free(out);
  } else {
    rc = report(err);
  }
  termauth_client_free(client);
  return rc;
}
