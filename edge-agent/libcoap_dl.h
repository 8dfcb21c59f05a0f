/* libcoap 4.3 (Debian's libcoap3) loaded at run time with dlopen: the functions the CoAP
 * publisher calls, as a table. The agent does not link libcoap, so an agent on MQTT maps none
 * of it. Besides publisher_coap.c, the only file that includes <coap3/coap.h>. libcoap's own
 * log lines are routed through ours. Not thread-safe: the agent's one thread. */
#ifndef UPDRAFT_AGENT_LIBCOAP_DL_H
#define UPDRAFT_AGENT_LIBCOAP_DL_H

#include <coap3/coap.h>
#include <stdbool.h>

struct libcoap_dl {
    void *dl;
    __typeof__(coap_startup) *startup;
    __typeof__(coap_cleanup) *cleanup;
    __typeof__(coap_set_log_handler) *set_log_handler;
    __typeof__(coap_set_log_level) *set_log_level;
    __typeof__(coap_dtls_is_supported) *dtls_is_supported;
    __typeof__(coap_new_context) *new_context;
    __typeof__(coap_free_context) *free_context;
    __typeof__(coap_set_app_data) *set_app_data;
    __typeof__(coap_get_app_data) *get_app_data;
    __typeof__(coap_context_set_block_mode) *set_block_mode;
    __typeof__(coap_register_response_handler) *register_response_handler;
    __typeof__(coap_register_nack_handler) *register_nack_handler;
    __typeof__(coap_register_event_handler) *register_event_handler;
    __typeof__(coap_address_init) *address_init;
    __typeof__(coap_new_client_session) *new_client_session;
    __typeof__(coap_new_client_session_psk2) *new_client_session_psk2;
    __typeof__(coap_session_release) *session_release;
    __typeof__(coap_session_disconnected) *session_disconnected;
    __typeof__(coap_session_set_no_observe_cancel) *session_set_no_observe_cancel;
    __typeof__(coap_session_get_context) *session_get_context;
    __typeof__(coap_session_get_state) *session_get_state;
    __typeof__(coap_session_set_ack_timeout) *session_set_ack_timeout;
    __typeof__(coap_session_set_max_retransmit) *session_set_max_retransmit;
    __typeof__(coap_session_set_nstart) *session_set_nstart;
    __typeof__(coap_session_new_token) *session_new_token;
    __typeof__(coap_new_pdu) *new_pdu;
    __typeof__(coap_delete_pdu) *delete_pdu;
    __typeof__(coap_add_token) *add_token;
    __typeof__(coap_add_option) *add_option;
    __typeof__(coap_encode_var_safe) *encode_var_safe;
    __typeof__(coap_add_data_large_request) *add_data_large_request;
    __typeof__(coap_send) *send;
    __typeof__(coap_io_process) *io_process;
    __typeof__(coap_pdu_get_code) *pdu_get_code;
    __typeof__(coap_pdu_get_token) *pdu_get_token;
    __typeof__(coap_check_option) *check_option;
    __typeof__(coap_opt_length) *opt_length;
    __typeof__(coap_opt_value) *opt_value;
    __typeof__(coap_get_data_large) *get_data_large;
    __typeof__(coap_cancel_observe) *cancel_observe;
};

/* Loads libcoap-3-notls.so.3, or libcoap-3-openssl.so.3 when dtls, resolves the table, starts
 * libcoap and routes its log into ours (its errors as warnings; at our debug level, its
 * warnings and notes too, as debug lines).
 * Returns 0, or -ENOENT with a logged reason (which library, which package). */
int libcoap_dl_load(struct libcoap_dl *lib, bool dtls) __attribute__((warn_unused_result));

/* Stops libcoap and unloads it; accepts a table that failed to load or was never loaded. */
void libcoap_dl_unload(struct libcoap_dl *lib);

#endif
