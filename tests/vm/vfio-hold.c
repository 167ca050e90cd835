/* vfio-hold: a VFIO user for the guest test (tests/vm/guest-test.sh), built -static.
 *
 *   vfio-hold GROUP UUID SECONDS
 *
 * Opens /dev/vfio/vfio and /dev/vfio/GROUP, attaches the group to a type1 container, gets
 * the device fd of the mdev UUID (what QEMU does), prints one line "vfio-hold: holding ..."
 * and keeps everything open for SECONDS or until SIGTERM/SIGINT. While it holds the device,
 * the kernel's mdev `remove` blocks (TESTING.md layer 7 §4.2): the guest test uses it to check
 * that a blocked stop does not stall the daemon. Exit 0 after a clean hold, 1 on any error
 * (with the step that failed). */
#include <errno.h>
#include <fcntl.h>
#include <linux/vfio.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig) {
        (void) sig;
        stop = 1;
}

static int fail(const char *what, const char *obj) {
        fprintf(stderr, "vfio-hold: %s %s: %s\n", what, obj, strerror(errno));
        return 1;
}

int main(int argc, char **argv) {
        char group_path[64];
        struct vfio_group_status status = { .argsz = sizeof(status) };
        struct vfio_device_info info = { .argsz = sizeof(info) };
        struct sigaction sa = { .sa_handler = on_signal };
        struct timespec end, now;
        char *p;
        long secs;
        int container, group, device;

        if (argc != 4) {
                fprintf(stderr, "usage: vfio-hold GROUP UUID SECONDS\n");
                return 2;
        }
        secs = strtol(argv[3], &p, 10);
        if (*argv[3] == '\0' || *p != '\0' || secs < 0 || strspn(argv[1], "0123456789") != strlen(argv[1])) {
                fprintf(stderr, "vfio-hold: GROUP and SECONDS must be numbers\n");
                return 2;
        }
        snprintf(group_path, sizeof(group_path), "/dev/vfio/%s", argv[1]);

        container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
        if (container < 0)
                return fail("open", "/dev/vfio/vfio");
        if (ioctl(container, VFIO_GET_API_VERSION) != VFIO_API_VERSION)
                return fail("VFIO_GET_API_VERSION", "/dev/vfio/vfio");
        group = open(group_path, O_RDWR | O_CLOEXEC);
        if (group < 0)
                return fail("open", group_path);
        if (ioctl(group, VFIO_GROUP_GET_STATUS, &status) < 0)
                return fail("VFIO_GROUP_GET_STATUS", group_path);
        if (!(status.flags & VFIO_GROUP_FLAGS_VIABLE)) {
                errno = EBUSY;
                return fail("group not viable:", group_path);
        }
        if (ioctl(group, VFIO_GROUP_SET_CONTAINER, &container) < 0)
                return fail("VFIO_GROUP_SET_CONTAINER", group_path);
        if (ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) < 0)
                return fail("VFIO_SET_IOMMU(TYPE1v2)", "/dev/vfio/vfio");
        device = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, argv[2]);
        if (device < 0)
                return fail("VFIO_GROUP_GET_DEVICE_FD", argv[2]);
        if (ioctl(device, VFIO_DEVICE_GET_INFO, &info) < 0)
                return fail("VFIO_DEVICE_GET_INFO", argv[2]);

        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
        printf("vfio-hold: holding group %s device %s (%u regions, %u irqs) for %lds\n", argv[1], argv[2],
               info.num_regions, info.num_irqs, secs);
        fflush(stdout);

        clock_gettime(CLOCK_MONOTONIC, &end);
        end.tv_sec += secs;
        while (!stop) {
                clock_gettime(CLOCK_MONOTONIC, &now);
                if (now.tv_sec > end.tv_sec || (now.tv_sec == end.tv_sec && now.tv_nsec >= end.tv_nsec))
                        break;
                usleep(50 * 1000);
        }
        close(device);
        close(group);
        close(container);
        printf("vfio-hold: released %s\n", argv[2]);
        return 0;
}
