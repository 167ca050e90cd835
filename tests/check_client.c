/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* lib/client: error names become sentences that name the object and the fix, never an
 * errno number; the daemon's state without a bus. Pure: no bus is contacted except an
 * address that does not exist. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "mdp-names.h"

static char *message(const char *name, const char *text, int r, const char *what)
{
        sd_bus_error e = SD_BUS_ERROR_NULL;
        char *s;

        if (name)
                sd_bus_error_set(&e, name, text);
        s = mdp_client_error_message(&e, r, what);
        sd_bus_error_free(&e);
        ck_assert_ptr_nonnull(s);
        return s;
}

/* No "errno", no "-2", no "(os error N)" in any sentence. */
static void assert_no_number(const char *s)
{
        ck_assert_msg(!strstr(s, "errno") && !strstr(s, "os error") && !strstr(s, "-1") && !strstr(s, "-2"),
                      "a number in \"%s\"", s);
}

START_TEST(test_daemon_errors_keep_their_sentence)
{
        char *s;

        /* Ours already name the object and the fix: no "cannot X:" in front, nothing added. */
        s = message(MDP_ERROR_ALREADY_EXISTS, "mdev U is already defined on parent mtty. Undefine it first.",
                    -EEXIST, "define mdev U");
        ck_assert_str_eq(s, "mdev U is already defined on parent mtty. Undefine it first.");
        free(s);
        s = message(MDP_ERROR_INVALID_ARGS, "Invalid UUID \"x\": expected 8-4-4-4-12 hex digits.", -EINVAL,
                    "stop mdev x");
        ck_assert_str_eq(s, "Invalid UUID \"x\": expected 8-4-4-4-12 hex digits.");
        free(s);
        /* Kinds whose remedy is the same for every object get it appended. */
        s = message(MDP_ERROR_NOT_AUTHORIZED, "Not authorized to call Start.", -EACCES, "start mdev U");
        ck_assert_str_eq(s,
                         "Not authorized to call Start; run the command as root, or ask an administrator to "
                         "grant the polkit action");
        assert_no_number(s);
        free(s);
        s = message(MDP_ERROR_KERNEL, "Cannot start mdev U: the driver refused.", -EIO, "start mdev U");
        ck_assert(strstr(s, "dmesg"));
        free(s);
}
END_TEST

START_TEST(test_bus_errors_become_sentences)
{
        char *s;

        s = message("org.freedesktop.DBus.Error.ServiceUnknown",
                    "The name org.mdevpasid1 was not provided by any "
                    ".service files",
                    -EHOSTUNREACH, "define mdev U");
        ck_assert_str_eq(s, "cannot define mdev U: mdevpasidd is not running; " MDP_CLIENT_START_HINT);
        free(s);
        s = message("org.freedesktop.DBus.Error.NoReply", "Did not receive a reply", -ETIMEDOUT,
                    "stop mdev U");
        ck_assert(strstr(s, "cannot stop mdev U: mdevpasidd did not answer; "));
        ck_assert(strstr(s, "systemctl status mdevpasidd"));
        free(s);
        s = message("org.freedesktop.DBus.Error.AccessDenied", "Rejected send message", -EACCES,
                    "start mdev U");
        ck_assert(strstr(s, "cannot start mdev U: Rejected send message; the bus policy refused the call"));
        free(s);
        s = message("org.freedesktop.DBus.Error.UnknownMethod", "Unknown method ListVms", -EBADR,
                    "list VMs");
        ck_assert(strstr(s, "older than mdevpasidctl"));
        free(s);
        /* No error set: the errno's words, not its number. */
        s = message(NULL, NULL, -ETIMEDOUT, "start mdev U");
        ck_assert_str_eq(s,
                         "cannot start mdev U: mdevpasidd did not answer in time; check it with \"systemctl "
                         "status mdevpasidd\"");
        free(s);
        s = message(NULL, NULL, -ENOENT, NULL);
        ck_assert(strstr(s, "the D-Bus system bus cannot be reached"));
        free(s);
        s = message(NULL, NULL, -EPROTO, "x");
        ck_assert_str_eq(s, "cannot x: protocol error");
        assert_no_number(s);
        free(s);
}
END_TEST

START_TEST(test_state_without_bus)
{
        sd_bus *bus = NULL;

        ck_assert_int_eq(mdp_client_daemon_state(NULL), MDP_CLIENT_NO_BUS);
        ck_assert(strstr(mdp_client_daemon_state_message(MDP_CLIENT_NO_BUS), "systemctl start mdevpasidd"));
        ck_assert(strstr(mdp_client_daemon_state_message(MDP_CLIENT_ABSENT), "mdevpasidd is not running"));
        /* DBUS_SYSTEM_BUS_ADDRESS is honoured: a socket that does not exist is no bus. */
        setenv("DBUS_SYSTEM_BUS_ADDRESS", "unix:path=/nonexistent/mdp-test-bus", 1);
        ck_assert_int_lt(mdp_client_open(&bus), 0);
        ck_assert_ptr_null(bus);
}
END_TEST

START_TEST(test_object_path)
{
        char *p = NULL;

        ck_assert_int_ge(
                mdp_client_object_path(MDP_OBJECT_DEVICES, "4b20d080-0000-0000-0000-000000000000", &p), 0);
        ck_assert_str_eq(p, "/org/mdevpasid1/device/_34b20d080_2d0000_2d0000_2d0000_2d000000000000");
        free(p);
}
END_TEST

int main(void)
{
        Suite *s = suite_create("client");
        TCase *tc = tcase_create("client");
        SRunner *sr;
        int failed;

        tcase_add_test(tc, test_daemon_errors_keep_their_sentence);
        tcase_add_test(tc, test_bus_errors_become_sentences);
        tcase_add_test(tc, test_state_without_bus);
        tcase_add_test(tc, test_object_path);
        suite_add_tcase(s, tc);
        sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
