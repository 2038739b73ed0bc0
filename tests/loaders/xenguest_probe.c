/*
 * pvhlint test harness: run libxenguest's domain-builder image parser on a kernel,
 * without Xen. Usage: xenguest_probe pv|pvh mem|file XEN_CAPS KERNEL
 *
 * The xc interface is a dummy (XC_OPENFLAG_DUMMY), so nothing talks to a hypervisor.
 * Both the xc logger and the domain-builder logger write to stderr at XTL_DEBUG.
 * XEN_CAPS fills dom->xen_caps, which xl gets from the hypervisor (xc_dom_boot_xen_init)
 * before it calls xc_dom_parse_image; the parser's final xc_dom_compat_check matches the
 * guest type against it.  stdout gets two lines: "rc=<n>" and "guest_type=<type>".
 * Exit status: 0 parse OK, 1 parse failed, 2 usage, 3 setup failure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xenctrl.h>
#include <xenguest.h>
#include <xentoollog.h>

static void *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long n;

    if (!f)
        return NULL;
    if (!fseek(f, 0, SEEK_END) && (n = ftell(f)) >= 0 && !fseek(f, 0, SEEK_SET)) {
        buf = malloc(n ? n : 1);
        if (buf && fread(buf, 1, n, f) != (size_t)n) {
            free(buf);
            buf = NULL;
        }
        *len = n;
    }
    fclose(f);
    return buf;
}

/*
 * xc_dom_kernel_mem keeps a pointer to the caller's buffer (it only allocates when it
 * inflates a gzip), so *blob must stay alive until the parse is done.
 */
static int load_kernel(struct xc_dom_image *dom, const char *how, const char *path,
                       void **blob)
{
    size_t len = 0;

    if (!strcmp(how, "file"))
        return xc_dom_kernel_file(dom, path);
    *blob = slurp(path, &len);
    if (!*blob) {
        fprintf(stderr, "xenguest_probe: cannot read %s\n", path);
        return -1;
    }
    return xc_dom_kernel_mem(dom, *blob, len);
}

int main(int argc, char **argv)
{
    xentoollog_logger *log;
    xc_interface *xch;
    struct xc_dom_image *dom;
    void *blob = NULL;
    int rc;

    if (argc != 5) {
        fprintf(stderr, "usage: %s pv|pvh mem|file XEN_CAPS KERNEL\n", argv[0]);
        return 2;
    }
    setvbuf(stderr, NULL, _IONBF, 0);
    log = (xentoollog_logger *)xtl_createlogger_stdiostream(
        stderr, XTL_DEBUG, XTL_STDIOSTREAM_HIDE_PROGRESS);
    xch = xc_interface_open(log, log, XC_OPENFLAG_DUMMY);
    dom = xch ? xc_dom_allocate(xch, "", NULL) : NULL;
    if (!dom) {
        fprintf(stderr, "xenguest_probe: xc_interface_open/xc_dom_allocate failed\n");
        return 3;
    }
    dom->container_type = strcmp(argv[1], "pvh") ? XC_DOM_PV_CONTAINER : XC_DOM_HVM_CONTAINER;
    snprintf(dom->xen_caps, sizeof(dom->xen_caps), "%s", argv[3]);
    if (load_kernel(dom, argv[2], argv[4], &blob)) {
        fprintf(stderr, "xenguest_probe: loading the kernel failed\n");
        return 3;
    }
    rc = xc_dom_parse_image(dom);
    printf("rc=%d\nguest_type=%s\n", rc, dom->guest_type ? dom->guest_type : "");
    fflush(stdout);
    xc_dom_release(dom);
    xc_interface_close(xch);
    xtl_logger_destroy(log);
    free(blob);
    return rc ? 1 : 0;
}
