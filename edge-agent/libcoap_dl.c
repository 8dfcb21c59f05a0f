/* libcoap loaded with dlopen (see libcoap_dl.h): RTLD_LOCAL, so its symbols (and OpenSSL's,
 * for the DTLS build) stay out of the agent's namespace. */
#include "edge-agent/libcoap_dl.h"

#include <dlfcn.h>
#include <errno.h>
#include <string.h>

#define LOG_MODULE "coap"
#include "common/log.h"

/* libcoap's lines end in a newline; ours add their own. Its warnings are about single
 * datagrams (an ICMP error on each retransmission to a bridge that is down): the publisher
 * says what they amount to, once. */
static void route_log(coap_log_t level, const char *message)
{
    size_t n = strlen(message);
    while (n > 0 && (message[n - 1] == '\n' || message[n - 1] == '\r'))
        n--;
    if (level <= LOG_ERR)
        log_warn("libcoap: %.*s", (int)n, message);
    else
        log_debug("libcoap: %.*s", (int)n, message);
}

static int resolve(struct libcoap_dl *lib, const char *name)
{
#define SYM(field, sym)                                                                            \
    do {                                                                                           \
        *(void **)&lib->field = dlsym(lib->dl, sym);                                               \
        if (lib->field == NULL) {                                                                  \
            log_error("%s has no %s: libcoap 4.3 (Debian package libcoap3) is needed", name, sym); \
            return -ENOENT;                                                                        \
        }                                                                                          \
    } while (0)
    SYM(startup, "coap_startup");
    SYM(cleanup, "coap_cleanup");
    SYM(set_log_handler, "coap_set_log_handler");
    SYM(set_log_level, "coap_set_log_level");
    SYM(dtls_is_supported, "coap_dtls_is_supported");
    SYM(new_context, "coap_new_context");
    SYM(free_context, "coap_free_context");
    SYM(set_app_data, "coap_set_app_data");
    SYM(get_app_data, "coap_get_app_data");
    SYM(set_block_mode, "coap_context_set_block_mode");
    SYM(register_response_handler, "coap_register_response_handler");
    SYM(register_nack_handler, "coap_register_nack_handler");
    SYM(register_event_handler, "coap_register_event_handler");
    SYM(address_init, "coap_address_init");
    SYM(new_client_session, "coap_new_client_session");
    SYM(new_client_session_psk2, "coap_new_client_session_psk2");
    SYM(session_release, "coap_session_release");
    SYM(session_disconnected, "coap_session_disconnected");
    SYM(session_set_no_observe_cancel, "coap_session_set_no_observe_cancel");
    SYM(session_get_context, "coap_session_get_context");
    SYM(session_get_state, "coap_session_get_state");
    SYM(session_set_ack_timeout, "coap_session_set_ack_timeout");
    SYM(session_set_max_retransmit, "coap_session_set_max_retransmit");
    SYM(session_set_nstart, "coap_session_set_nstart");
    SYM(session_new_token, "coap_session_new_token");
    SYM(new_pdu, "coap_new_pdu");
    SYM(delete_pdu, "coap_delete_pdu");
    SYM(add_token, "coap_add_token");
    SYM(add_option, "coap_add_option");
    SYM(encode_var_safe, "coap_encode_var_safe");
    SYM(add_data_large_request, "coap_add_data_large_request");
    SYM(send, "coap_send");
    SYM(io_process, "coap_io_process");
    SYM(pdu_get_code, "coap_pdu_get_code");
    SYM(pdu_get_token, "coap_pdu_get_token");
    SYM(check_option, "coap_check_option");
    SYM(opt_length, "coap_opt_length");
    SYM(opt_value, "coap_opt_value");
    SYM(get_data_large, "coap_get_data_large");
    SYM(cancel_observe, "coap_cancel_observe");
#undef SYM
    return 0;
}

int libcoap_dl_load(struct libcoap_dl *lib, bool dtls)
{
    const char *name = dtls ? "libcoap-3-openssl.so.3" : "libcoap-3-notls.so.3";
    *lib = (struct libcoap_dl){0};
    lib->dl = dlopen(name, RTLD_NOW | RTLD_LOCAL);
    if (lib->dl == NULL) {
        log_error("cannot load %s (install the Debian package libcoap3): %s", name, dlerror());
        return -ENOENT;
    }
    if (resolve(lib, name) != 0) {
        dlclose(lib->dl);
        *lib = (struct libcoap_dl){0};
        return -ENOENT;
    }
    lib->startup();
    lib->set_log_handler(route_log);
    lib->set_log_level(log_threshold >= LOG_LEVEL_DEBUG ? LOG_INFO : LOG_ERR);
    if (dtls && !lib->dtls_is_supported()) {
        log_error("%s was built without DTLS", name);
        libcoap_dl_unload(lib);
        return -ENOENT;
    }
    return 0;
}

void libcoap_dl_unload(struct libcoap_dl *lib)
{
    if (lib->dl == NULL)
        return;
    lib->cleanup();
    dlclose(lib->dl);
    *lib = (struct libcoap_dl){0};
}
