/* Bench tool (driven by bench/bridge.sh, not run on its own): a CoAP load generator for
 * updraft-bridge (docs/coap.md). Raw UDP sockets on 127.0.0.1, no libcoap, one thread, so it
 * costs little of the CPU it shares with the bridge and the broker.
 *   coap_flood --port P [--packs 200000] [--hosts 50] [--samples 10] [--window 100]
 *              [--sockets HOSTS] [--timeout-s 120] [--ack-timeout-ms 2000] [--cpu-pids P,...]
 * Builds every pack first (bench/flood_packs.h: the packs bench/mqtt_flood.c sends, here as
 * SenML CBOR; each with its own bid/sq), then sends each as a CON POST /t/<host>/metrics with
 * Content-Format 112, at most --window in flight. Pack i goes out of socket i % --sockets (its
 * own source port: a device), with that socket's next message id and the token i (4 bytes), so
 * every message id per socket and every token is distinct. An ACK is matched by message id; it
 * carries the answer (piggybacked) or is empty, and then the answer comes as a separate CON (or
 * NON) response, matched by token and ACKed (a CON response is ACKed even when its token is
 * done: our ACK may have been lost). A request not ACKed is retransmitted as RFC 7252 §4.2 says
 * (ACK_TIMEOUT x random 1..1.5, doubling, MAX_RETRANSMIT 4, then given up); none after its
 * empty ACK. Stops when every pack has an answer (or was given up), or at --timeout-s.
 * Prints "name value unit" lines: 2.04 / 5.03 / other answers, rates from the first send to
 * the last 2.04 (monotonic clock), latency from a request's first send to its answer, the
 * tool's own CPU and that of each --cpu-pids process over the same run (utime + stime of
 * /proc/PID/stat: coap_cpu_pid_<PID>_pct, % of one core). Exit 1 unless every pack got a 2.04;
 * 2 on bad usage. */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench/bench_util.h"
#include "bench/coap_wire.h"
#include "bench/flood_packs.h"

#define TOKEN_LEN 4
#define MAX_RETRANSMIT 4
#define ACK_RANDOM_FACTOR 1.5
#define BATCH 64              /* datagrams per sendmmsg / recvmmsg */
#define HEADER_MAX 96         /* header + token + options + marker; a host id is at most 64 */
#define SCAN_INTERVAL_S 0.005 /* retransmission timers are checked this often */
#define MAX_SOCKETS 1024
#define SOCKET_BUFFER (4 << 20) /* asked for; the kernel caps it at net.core.[rw]mem_max */
#define LOGGED_ANSWERS 5        /* unexpected answers logged on stderr */

#define MAX_WATCHED 8 /* --cpu-pids */

struct options {
    int port;
    int64_t packs, hosts, samples, window, sockets, timeout_s, ack_timeout_ms;
    long watched[MAX_WATCHED]; /* --cpu-pids: processes whose CPU over the run is reported */
    size_t n_watched;
};

enum req_state { REQ_NEW, REQ_WAIT_ACK, REQ_WAIT_RESPONSE, REQ_DONE };

struct request {
    double first_sent, next_retransmit, timeout; /* monotonic seconds */
    uint32_t pos;                                /* in flood.inflight while in flight */
    uint16_t mid, sock, host;                    /* sock: i % sockets, host: i % hosts */
    uint8_t state, retransmits;
};

struct sock {
    int fd;
    uint16_t next_mid;
    uint32_t *by_mid; /* pack index + 1 of the request waiting for the ACK of a mid, 0: none */
    unsigned queued;  /* datagrams in the batch below */
    struct mmsghdr msgs[BATCH];
    struct iovec iov[BATCH][2];
    uint8_t heads[BATCH][HEADER_MAX];
};

struct stats {
    uint64_t changed, unavailable, other, given_up, piggybacked, separate, empty_acks, resets,
        duplicates, retransmits, malformed, send_errors, datagrams_sent, bytes_sent;
};

struct flood {
    const struct options *o;
    struct flood_packs packs;
    char (*hosts)[32];
    struct request *reqs;
    uint32_t *inflight; /* pack indices; a request's pos is its place */
    size_t inflight_n, next, completed, next_sock, next_host;
    struct sock *socks;
    size_t nsocks;
    double *latency_ms; /* of each 2.04 */
    double first_send, last_changed;
    uint64_t rng;
    struct stats st;
};

__attribute__((noreturn)) static void fail(const char *what)
{
    fprintf(stderr, "coap_flood: %s\n", what);
    exit(2);
}

static const uint8_t *pack_bytes(const struct flood *f, size_t i, size_t *len)
{
    size_t start = i == 0 ? 0 : f->packs.ends[i - 1];
    *len = f->packs.ends[i] - start;
    return (const uint8_t *)f->packs.bytes + start;
}

static void sock_flush(struct flood *f, struct sock *s)
{
    unsigned done = 0;
    int refused = 0;
    while (done < s->queued) {
        int n = sendmmsg(s->fd, s->msgs + done, s->queued - done, 0);
        if (n > 0) {
            for (unsigned k = done; k < done + (unsigned)n; k++)
                f->st.bytes_sent += s->msgs[k].msg_len;
            f->st.datagrams_sent += (uint64_t)n;
            done += (unsigned)n;
        } else if (n < 0 && (errno == EINTR || (errno == ECONNREFUSED && refused++ < 3))) {
            continue; /* ECONNREFUSED: the ICMP port unreachable of an earlier datagram */
        } else {
            /* a full send buffer (EAGAIN) or worse: dropped, as the network would; requests
             * are retransmitted, the peer retransmits its CON responses */
            f->st.send_errors += s->queued - done;
            break;
        }
    }
    s->queued = 0;
}

/* Queues the datagram head[0..head_len) + payload[0..len) on s. */
static void sock_queue(struct flood *f, struct sock *s, const uint8_t *head, size_t head_len,
                       const uint8_t *payload, size_t len)
{
    if (s->queued == BATCH)
        sock_flush(f, s);
    unsigned q = s->queued++;
    memcpy(s->heads[q], head, head_len);
    s->iov[q][0] = (struct iovec){.iov_base = s->heads[q], .iov_len = head_len};
    s->iov[q][1] = (struct iovec){.iov_base = (void *)payload, .iov_len = len};
    memset(&s->msgs[q], 0, sizeof s->msgs[q]);
    s->msgs[q].msg_hdr.msg_iov = s->iov[q];
    s->msgs[q].msg_hdr.msg_iovlen = len > 0 ? 2 : 1;
}

static void send_request(struct flood *f, size_t i)
{
    struct request *r = &f->reqs[i];
    struct sock *s = &f->socks[r->sock];
    uint8_t head[HEADER_MAX],
        token[TOKEN_LEN] = {(uint8_t)(i >> 24), (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i};
    size_t len, head_len = coap_post_metrics_header(head, sizeof head, r->mid, token, TOKEN_LEN,
                                                    f->hosts[r->host], NULL);
    const uint8_t *payload = pack_bytes(f, i, &len);
    sock_queue(f, s, head, head_len, payload, len);
}

static void send_empty(struct flood *f, struct sock *s, int type, uint16_t mid)
{
    uint8_t head[4];
    coap_empty(head, type, mid);
    sock_queue(f, s, head, sizeof head, NULL, 0);
}

/* Sends pack f->next (out of the next socket, round robin: socket i % sockets). */
static void start_request(struct flood *f, double now)
{
    size_t i = f->next++;
    struct request *r = &f->reqs[i];
    r->sock = (uint16_t)f->next_sock;
    r->host = (uint16_t)f->next_host;
    f->next_sock = f->next_sock + 1 == f->nsocks ? 0 : f->next_sock + 1;
    f->next_host = f->next_host + 1 == f->packs.hosts ? 0 : f->next_host + 1;
    struct sock *s = &f->socks[r->sock];
    r->mid = s->next_mid++;
    s->by_mid[r->mid] = (uint32_t)i + 1;
    r->state = REQ_WAIT_ACK;
    r->first_sent = now;
    double random = (double)(flood_xorshift(&f->rng) % 1001) / 1000.0;
    r->timeout = (double)f->o->ack_timeout_ms / 1000.0 * (1.0 + (ACK_RANDOM_FACTOR - 1) * random);
    r->next_retransmit = now + r->timeout;
    r->pos = (uint32_t)f->inflight_n;
    f->inflight[f->inflight_n++] = (uint32_t)i;
    send_request(f, i);
}

static void finish_request(struct flood *f, size_t i)
{
    struct request *r = &f->reqs[i];
    if (r->state == REQ_WAIT_ACK)
        f->socks[r->sock].by_mid[r->mid] = 0;
    r->state = REQ_DONE;
    uint32_t last = f->inflight[--f->inflight_n];
    f->inflight[r->pos] = last;
    f->reqs[last].pos = r->pos;
    f->completed++;
}

static void answer(struct flood *f, size_t i, uint8_t code, double now)
{
    if (code == COAP_CODE_CHANGED) {
        f->latency_ms[f->st.changed++] = (now - f->reqs[i].first_sent) * 1000.0;
        f->last_changed = now;
    } else if (code == COAP_CODE_UNAVAILABLE) {
        f->st.unavailable++;
    } else {
        if (f->st.other++ < LOGGED_ANSWERS)
            fprintf(stderr, "coap_flood: pack %zu answered %d.%02d\n", i, code >> 5, code & 31);
    }
    finish_request(f, i);
}

/* The pack a response's token names, when it is one still waiting; else SIZE_MAX. */
static size_t token_request(const struct flood *f, const uint8_t *token, size_t token_len)
{
    if (token_len != TOKEN_LEN)
        return SIZE_MAX;
    size_t i = (size_t)token[0] << 24 | (size_t)token[1] << 16 | (size_t)token[2] << 8 | token[3];
    if (i >= f->next || (f->reqs[i].state != REQ_WAIT_ACK && f->reqs[i].state != REQ_WAIT_RESPONSE))
        return SIZE_MAX;
    return i;
}

static void receive(struct flood *f, struct sock *s, const uint8_t *d, size_t len, double now)
{
    if (len < 4 || d[0] >> 6 != 1 || (d[0] & 15) > 8 || 4 + (size_t)(d[0] & 15) > len) {
        f->st.malformed++;
        return;
    }
    int type = d[0] >> 4 & 3;
    size_t token_len = d[0] & 15;
    uint8_t code = d[1];
    uint16_t mid = (uint16_t)(d[2] << 8 | d[3]);
    if (type == COAP_TYPE_ACK || type == COAP_TYPE_RST) {
        size_t i = s->by_mid[mid] > 0 ? s->by_mid[mid] - 1 : SIZE_MAX;
        if (i == SIZE_MAX || f->reqs[i].state != REQ_WAIT_ACK) {
            f->st.duplicates++; /* the ACK of a retransmission, after the first */
            return;
        }
        if (type == COAP_TYPE_RST) {
            f->st.resets++; /* the server refused the message itself */
            finish_request(f, i);
        } else if (code == COAP_CODE_EMPTY) {
            f->st.empty_acks++;
            s->by_mid[mid] = 0;
            f->reqs[i].state = REQ_WAIT_RESPONSE;
        } else if (token_request(f, d + 4, token_len) != i) {
            f->st.malformed++; /* a piggybacked answer with another token */
        } else {
            f->st.piggybacked++;
            answer(f, i, code, now);
        }
        return;
    }
    /* CON or NON from the server: an answer (class 2..5), or a ping / request we refuse */
    if (code >> 5 < 2) {
        if (type == COAP_TYPE_CON)
            send_empty(f, s, COAP_TYPE_RST, mid);
        return;
    }
    if (type == COAP_TYPE_CON)
        send_empty(f, s, COAP_TYPE_ACK, mid);
    size_t i = token_request(f, d + 4, token_len);
    if (i == SIZE_MAX) {
        f->st.duplicates++; /* a retransmitted separate response: our ACK was lost */
        return;
    }
    f->st.separate++; /* before the empty ACK when that was lost: the answer implies it */
    answer(f, i, code, now);
}

/* Retransmits the requests whose ACK is late; gives up after MAX_RETRANSMIT. */
static void scan_timers(struct flood *f, double now)
{
    for (size_t k = 0; k < f->inflight_n;) {
        size_t i = f->inflight[k];
        struct request *r = &f->reqs[i];
        if (r->state != REQ_WAIT_ACK || now < r->next_retransmit) {
            k++;
            continue;
        }
        if (r->retransmits == MAX_RETRANSMIT) {
            f->st.given_up++;
            finish_request(f, i); /* moves the last one into k */
            continue;
        }
        r->retransmits++;
        r->timeout *= 2;
        r->next_retransmit = now + r->timeout;
        f->st.retransmits++;
        send_request(f, i);
        k++;
    }
}

static void open_sockets(struct flood *f)
{
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)f->o->port)};
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    f->nsocks = (size_t)f->o->sockets;
    f->socks = xrealloc(NULL, f->nsocks * sizeof *f->socks);
    for (size_t k = 0; k < f->nsocks; k++) {
        struct sock *s = &f->socks[k];
        memset(s, 0, sizeof *s);
        s->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        int size = SOCKET_BUFFER;
        if (s->fd < 0 || connect(s->fd, (const struct sockaddr *)&to, sizeof to) != 0) {
            perror("coap_flood: socket");
            exit(1);
        }
        setsockopt(s->fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
        setsockopt(s->fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
        s->by_mid = calloc(65536, sizeof *s->by_mid);
        if (s->by_mid == NULL)
            fail("out of memory");
        s->next_mid = (uint16_t)flood_xorshift(&f->rng);
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void run(struct flood *f)
{
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0)
        fail("epoll_create1 failed");
    for (size_t k = 0; k < f->nsocks; k++) {
        struct epoll_event ev = {.events = EPOLLIN, .data.u64 = k};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, f->socks[k].fd, &ev) != 0)
            fail("epoll_ctl failed");
    }
    static uint8_t bufs[BATCH][COAP_MAX_DATAGRAM + 64];
    struct mmsghdr rmsgs[BATCH];
    struct iovec riov[BATCH];
    struct epoll_event events[64];
    size_t packs = (size_t)f->o->packs, window = (size_t)f->o->window;
    double now = now_s(), deadline = now + (double)f->o->timeout_s, next_scan = now;
    f->first_send = now;
    while (f->completed < packs && now < deadline) {
        while (f->inflight_n < window && f->next < packs)
            start_request(f, now);
        for (size_t k = 0; k < f->nsocks; k++)
            if (f->socks[k].queued > 0)
                sock_flush(f, &f->socks[k]);
        int wait_ms = (int)((next_scan - now) * 1000.0 + 0.999);
        int n = epoll_wait(ep, events, 64, wait_ms > 0 ? wait_ms : 0);
        now = now_s();
        for (int e = 0; e < n; e++) {
            struct sock *s = &f->socks[events[e].data.u64];
            int got;
            do {
                for (unsigned k = 0; k < BATCH; k++) {
                    riov[k] = (struct iovec){.iov_base = bufs[k], .iov_len = sizeof bufs[k]};
                    memset(&rmsgs[k], 0, sizeof rmsgs[k]);
                    rmsgs[k].msg_hdr.msg_iov = &riov[k];
                    rmsgs[k].msg_hdr.msg_iovlen = 1;
                }
                got = recvmmsg(s->fd, rmsgs, BATCH, MSG_DONTWAIT, NULL);
                for (int k = 0; k < got; k++)
                    receive(f, s, bufs[k], rmsgs[k].msg_len, now);
            } while (got == BATCH);
        }
        if (now >= next_scan) {
            scan_timers(f, now);
            next_scan = now + SCAN_INTERVAL_S;
        }
    }
    for (size_t k = 0; k < f->nsocks; k++) /* the last ACKs of separate responses */
        if (f->socks[k].queued > 0)
            sock_flush(f, &f->socks[k]);
    close(ep);
}

/* utime + stime of process pid in seconds (fields 14 and 15 of /proc/PID/stat, counted after
 * the command name's last ')'), or -1. */
static double process_cpu_s(long pid)
{
    char path[64], line[1024];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *in = fopen(path, "r");
    if (in == NULL)
        return -1;
    size_t n = fread(line, 1, sizeof line - 1, in);
    fclose(in);
    line[n] = '\0';
    char *p = strrchr(line, ')');
    unsigned long long utime, stime;
    if (p == NULL || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime,
                            &stime) != 2)
        return -1;
    return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

static void parse_pids(struct options *o, const char *list)
{
    for (const char *p = list; p != NULL && *p != '\0' && o->n_watched < MAX_WATCHED;) {
        char *end;
        long pid = strtol(p, &end, 10);
        if (end == p || pid <= 0 || (*end != ',' && *end != '\0'))
            fail("--cpu-pids takes PID[,PID...]");
        o->watched[o->n_watched++] = pid;
        p = *end == ',' ? end + 1 : end;
    }
}

static void report(const struct flood *f, double cpu, double wall)
{
    const struct stats *st = &f->st;
    size_t packs = (size_t)f->o->packs, n = (size_t)st->changed;
    double seconds = n > 0 ? f->last_changed - f->first_send : 0;
    printf("coap_requests %" PRIu64 " req\n", st->changed);
    printf("coap_responses_503 %" PRIu64 " req\n", st->unavailable);
    printf("coap_responses_other %" PRIu64 " req\n", st->other + st->resets);
    printf("coap_unanswered %zu req\n", packs - f->completed + (size_t)st->given_up);
    printf("coap_piggybacked %" PRIu64 " req\n", st->piggybacked);
    printf("coap_separate %" PRIu64 " req\n", st->separate);
    printf("coap_retransmits %" PRIu64 " datagrams\n", st->retransmits);
    printf("coap_duplicates %" PRIu64 " datagrams\n", st->duplicates);
    if (st->malformed > 0 || st->send_errors > 0)
        printf("# coap_flood: %" PRIu64 " malformed datagrams received, %" PRIu64 " not sent\n",
               st->malformed, st->send_errors);
    printf("coap_seconds %.3f s\n", seconds);
    printf("coap_requests_per_s %.0f req/s\n", seconds > 0 ? (double)n / seconds : 0);
    if (n > 0) {
        qsort(f->latency_ms, n, sizeof *f->latency_ms, cmp_double);
        printf("coap_latency_p50 %.3f ms\n", f->latency_ms[n / 2]);
        printf("coap_latency_p99 %.3f ms\n", f->latency_ms[(n * 99 + 99) / 100 - 1]);
        printf("coap_latency_max %.3f ms\n", f->latency_ms[n - 1]);
    }
    printf("coap_payload_bytes %.0f B\n", (double)f->packs.len / (double)f->packs.count);
    printf("coap_datagrams_sent %" PRIu64 " datagrams\n", st->datagrams_sent);
    printf("coap_bytes_sent_per_request %.0f B\n",
           f->next > 0 ? (double)st->bytes_sent / (double)f->next : 0);
    printf("coap_flood_cpu_pct %.1f %%\n", wall > 0 ? 100.0 * cpu / wall : 0);
}

/* The CPU of each watched process over the run, % of one core. */
static void report_watched(const struct options *o, const double *cpu0, double wall)
{
    for (size_t k = 0; k < o->n_watched; k++) {
        double cpu = process_cpu_s(o->watched[k]);
        if (cpu >= 0 && cpu0[k] >= 0 && wall > 0)
            printf("coap_cpu_pid_%ld_pct %.1f %%\n", o->watched[k], 100.0 * (cpu - cpu0[k]) / wall);
    }
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc % 2 == 0) {
        fprintf(stderr, "usage: coap_flood --port P [options] (see the source)\n");
        return 2;
    }
    struct options o = {
        .port = (int)arg_int("coap_flood", argc, argv, 1, "--port", 0, 1, 65535),
        .packs = arg_int("coap_flood", argc, argv, 1, "--packs", 200000, 1, 10000000),
        .hosts = arg_int("coap_flood", argc, argv, 1, "--hosts", 50, 1, FLOOD_MAX_HOSTS),
        .samples = arg_int("coap_flood", argc, argv, 1, "--samples", 10, 1, FLOOD_MAX_SAMPLES),
        .window = arg_int("coap_flood", argc, argv, 1, "--window", 100, 1, 65535),
        .timeout_s = arg_int("coap_flood", argc, argv, 1, "--timeout-s", 120, 1, 86400),
        .ack_timeout_ms = arg_int("coap_flood", argc, argv, 1, "--ack-timeout-ms", 2000, 1, 60000),
    };
    o.sockets = arg_int("coap_flood", argc, argv, 1, "--sockets", o.hosts, 1, MAX_SOCKETS);
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], "--cpu-pids") == 0)
            parse_pids(&o, argv[i + 1]);
    if (o.port == 0)
        fail("--port is required");
    /* RFC 7252 §4.4: a message id is not reused within EXCHANGE_LIFETIME (247 s); the bridge's
     * duplicate cache (dedupe_window) would answer a reused one from the cache */
    if (o.packs / o.sockets >= 65536)
        fail("more than 65535 packs per socket would reuse message ids: raise --sockets");
    struct flood f = {.o = &o, .rng = 0x9e3779b97f4a7c15u ^ (uint64_t)getpid()};
    if (flood_packs_build(&f.packs, (size_t)o.packs, (size_t)o.hosts, (size_t)o.samples,
                          FLOOD_SENML_CBOR) != 0)
        fail("cannot encode a pack");
    f.hosts = xrealloc(NULL, (size_t)o.hosts * sizeof *f.hosts);
    for (size_t h = 0; h < (size_t)o.hosts; h++)
        flood_host_name(f.hosts[h], sizeof f.hosts[h], h);
    for (size_t i = 0, h = 0; i < f.packs.count; i++, h = h + 1 == f.packs.hosts ? 0 : h + 1) {
        uint8_t head[HEADER_MAX], token[TOKEN_LEN] = {0};
        size_t len, head_len = coap_post_metrics_header(head, sizeof head, 0, token, TOKEN_LEN,
                                                        f.hosts[h], NULL);
        pack_bytes(&f, i, &len);
        if (head_len == 0 || head_len + len > COAP_MAX_DATAGRAM)
            fail("a pack does not fit one datagram (no Block1 here): fewer --samples");
    }
    f.reqs = calloc((size_t)o.packs, sizeof *f.reqs);
    f.inflight = calloc((size_t)o.window, sizeof *f.inflight);
    f.latency_ms = xrealloc(NULL, (size_t)o.packs * sizeof *f.latency_ms);
    if (f.reqs == NULL || f.inflight == NULL)
        fail("out of memory");
    open_sockets(&f);

    double watched0[MAX_WATCHED];
    for (size_t k = 0; k < o.n_watched; k++)
        watched0[k] = process_cpu_s(o.watched[k]);
    double cpu0 = cpu_s(), wall0 = now_s();
    run(&f);
    double cpu = cpu_s() - cpu0, wall = now_s() - wall0;
    report(&f, cpu, wall);
    report_watched(&o, watched0, wall);
    bool ok = f.st.changed == (uint64_t)o.packs;
    if (!ok)
        fprintf(stderr, "coap_flood: %" PRIu64 " of %" PRId64 " packs answered 2.04%s\n",
                f.st.changed, o.packs, f.completed < f.packs.count ? " (timeout)" : "");
    for (size_t k = 0; k < f.nsocks; k++) {
        close(f.socks[k].fd);
        free(f.socks[k].by_mid);
    }
    free(f.socks);
    free(f.reqs);
    free(f.inflight);
    free(f.latency_ms);
    free(f.hosts);
    flood_packs_free(&f.packs);
    return ok ? 0 : 1;
}
