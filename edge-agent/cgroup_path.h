/* Container identity from the text of /proc/<pid>/cgroup: which container (if any) a process
 * runs in, under which runtime and Kubernetes pod, and where that container's cgroup lives
 * under <sys_root>/fs/cgroup. Understands cgroup v1 ("N:controllers:/path" lines) and v2
 * ("0::/path"), with the cgroupfs and systemd layouts of Docker, containerd, CRI-O, Podman and
 * the kubelet. Pure: no I/O, no allocation. */
#ifndef UPDRAFT_AGENT_CGROUP_PATH_H
#define UPDRAFT_AGENT_CGROUP_PATH_H

#include <stdbool.h>
#include <stddef.h>

#define CGROUP_ID_MAX 65       /* bytes incl. NUL: a 64-hex container id */
#define CGROUP_SHORT_ID_LEN 12 /* hex digits in the short id ("docker ps" shows these) */
#define CGROUP_RUNTIME_MAX 16  /* bytes incl. NUL: "docker", "containerd", "cri-o", "podman" */
#define CGROUP_POD_UID_MAX 37  /* bytes incl. NUL: a UUID with dashes (36) or a 32-hex hash */
#define CGROUP_DIR_MAX 512     /* bytes incl. NUL of a directory under <sys_root>/fs/cgroup */

/* What one /proc/<pid>/cgroup says. Recognised container cgroups (the innermost one on the
 * path wins; <id> is exactly 64 lowercase hex digits):
 *   docker:     /docker/<id>              .../docker-<id>.scope
 *   containerd: /containerd/<id>          .../cri-containerd-<id>.scope
 *   cri-o:      .../crio-<id>             .../crio-<id>.scope
 *   podman:     /libpod_parent/libpod-<id> .../libpod-<id>.scope
 *   kubelet cgroupfs: /kubepods[/<qos>]/pod<uid>/<id> (runtime not named by the path: "")
 * The pod uid comes from an ancestor "pod<uid>" (cgroupfs) or "kubepods[-<qos>]-pod<uid>.slice"
 * (systemd, '_' turned back into '-'). conmon's own scopes (crio-conmon-, libpod-conmon-) are
 * not containers. */
struct cgroup_container {
    char id[CGROUP_ID_MAX];           /* "" when the process is in no recognised container */
    char runtime[CGROUP_RUNTIME_MAX]; /* "" when unknown */
    char pod_uid[CGROUP_POD_UID_MAX]; /* "" outside Kubernetes */
    bool v1;                          /* the host uses cgroup v1 controllers (or hybrid) */
    /* The container's cgroup directories relative to <sys_root>/fs/cgroup, without a leading
     * '/'. v2: both are the unified path ("system.slice/docker-<id>.scope"). v1: the hierarchy
     * directory named after its controllers, then the path ("cpu,cpuacct/docker/<id>",
     * "memory/docker/<id>"). "" when not known (no such controller line, or too long). */
    char cpu_dir[CGROUP_DIR_MAX];
    char mem_dir[CGROUP_DIR_MAX];
};

/* Parses the whole file text[0..len) (need not be NUL-terminated). Returns 0 (out->id is ""
 * for a process outside containers) or -EBADMSG when a line is not "N:controllers:/path" or
 * there is no line at all; *out is then zeroed. */
int cgroup_path_parse(const char *text, size_t len, struct cgroup_container *out)
    __attribute__((warn_unused_result));

#endif
