/* GPU collector: utilization, memory, temperature and power of each NVIDIA GPU through NVML,
 * loaded at run time with dlopen (no build dependency; the few types and entry points used
 * are declared here after NVIDIA's NVML API reference). Owns the library handle and the
 * device handles, taken once at construction. Not thread-safe: one agent thread calls it. */
#include "edge-agent/collector.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GPU_NVML_DEFAULT_LIBRARY "libnvidia-ml.so.1"
#define GPU_LIBRARY_ENV "UPDRAFT_NVML_LIBRARY"
/* GPUs beyond this are not reported (a 16-GPU box is already big). */
#define GPU_MAX_DEVICES 64
#define GPU_BYTES_PER_MIB (1024.0 * 1024.0)

/* From NVML's nvml.h: nvmlReturn_t (NVML_SUCCESS is 0), the opaque nvmlDevice_t,
 * nvmlUtilization_t, nvmlMemory_t (v1, bytes) and NVML_TEMPERATURE_GPU. Enums are passed as
 * int, as the C ABI does. */
#define GPU_NVML_SUCCESS 0
#define GPU_NVML_TEMPERATURE_GPU 0

typedef int gpu_nvml_return;
struct gpu_nvml_device; /* nvmlDevice_t is a pointer to this */

struct gpu_nvml_utilization {
    unsigned int gpu;    /* % of the sample period with a kernel running */
    unsigned int memory; /* % of the sample period with device memory read or written */
};

struct gpu_nvml_memory {
    unsigned long long total; /* bytes */
    unsigned long long free;
    unsigned long long used;
};

struct gpu_nvml_api {
    gpu_nvml_return (*init)(void);                        /* nvmlInit_v2 */
    gpu_nvml_return (*shutdown)(void);                    /* nvmlShutdown */
    gpu_nvml_return (*device_count)(unsigned int *count); /* nvmlDeviceGetCount_v2 */
    gpu_nvml_return (*device_by_index)(unsigned int index, struct gpu_nvml_device **device);
    gpu_nvml_return (*utilization)(struct gpu_nvml_device *device,
                                   struct gpu_nvml_utilization *out);
    gpu_nvml_return (*memory)(struct gpu_nvml_device *device, struct gpu_nvml_memory *out);
    gpu_nvml_return (*temperature)(struct gpu_nvml_device *device, int sensor,
                                   unsigned int *celsius);
    gpu_nvml_return (*power)(struct gpu_nvml_device *device, unsigned int *milliwatts);
};

struct gpu_collector {
    void *library; /* dlopen handle; NULL when NVML is not there */
    struct gpu_nvml_api api;
    bool initialized; /* nvmlInit_v2 succeeded: nvmlShutdown is owed */
    struct gpu_nvml_device *devices[GPU_MAX_DEVICES];
    unsigned device_count;
};

/* dlsym returns void *; the conversion to a function pointer goes through memcpy, which ISO C
 * allows (POSIX guarantees the representations match). */
static bool gpu_symbol(void *library, const char *name, void *fn_out, size_t fn_size)
{
    void *symbol = dlsym(library, name);

    if (symbol == NULL || fn_size != sizeof(symbol))
        return false;
    memcpy(fn_out, &symbol, fn_size);
    return true;
}

#define GPU_SYMBOL(gpu, field, name)                                                               \
    gpu_symbol((gpu)->library, (name), &(gpu)->api.field, sizeof((gpu)->api.field))

static bool gpu_load_symbols(struct gpu_collector *gpu)
{
    return GPU_SYMBOL(gpu, init, "nvmlInit_v2") && GPU_SYMBOL(gpu, shutdown, "nvmlShutdown") &&
           GPU_SYMBOL(gpu, device_count, "nvmlDeviceGetCount_v2") &&
           GPU_SYMBOL(gpu, device_by_index, "nvmlDeviceGetHandleByIndex_v2") &&
           GPU_SYMBOL(gpu, utilization, "nvmlDeviceGetUtilizationRates") &&
           GPU_SYMBOL(gpu, memory, "nvmlDeviceGetMemoryInfo") &&
           GPU_SYMBOL(gpu, temperature, "nvmlDeviceGetTemperature") &&
           GPU_SYMBOL(gpu, power, "nvmlDeviceGetPowerUsage");
}

static void gpu_unload(struct gpu_collector *gpu)
{
    if (gpu->initialized)
        (void)gpu->api.shutdown(); /* nothing to do about a failing shutdown */
    gpu->initialized = false;
    if (gpu->library != NULL)
        (void)dlclose(gpu->library);
    gpu->library = NULL;
    gpu->device_count = 0;
}

/* Loads NVML and takes the device handles. Any failure (no library, an old library without
 * the _v2 entry points, no driver, no GPU) leaves the collector without GPUs. */
static void gpu_load(struct gpu_collector *gpu, const char *library)
{
    unsigned int count = 0;

    gpu->library = dlopen(library, RTLD_NOW | RTLD_LOCAL);
    if (gpu->library == NULL || !gpu_load_symbols(gpu) || gpu->api.init() != GPU_NVML_SUCCESS) {
        gpu_unload(gpu);
        return;
    }
    gpu->initialized = true;
    if (gpu->api.device_count(&count) != GPU_NVML_SUCCESS)
        count = 0;
    if (count > GPU_MAX_DEVICES)
        count = GPU_MAX_DEVICES;
    for (unsigned int i = 0; i < count; i++) {
        struct gpu_nvml_device *device = NULL;

        /* A GPU NVML may not touch (no permission, fallen off the bus) is left out; the
         * gpu_index label stays NVML's index. */
        if (gpu->api.device_by_index(i, &device) != GPU_NVML_SUCCESS || device == NULL)
            continue;
        gpu->devices[i] = device;
        gpu->device_count = i + 1;
    }
    if (gpu->device_count == 0)
        gpu_unload(gpu);
}

/* One GPU's samples; a query the GPU does not support (power on many boards) is left out.
 * *appended counts the samples added. */
static int gpu_emit_device(const struct gpu_collector *gpu, unsigned int index,
                           struct metric_batch *batch, size_t *appended)
{
    struct gpu_nvml_device *device = gpu->devices[index];
    struct gpu_nvml_utilization utilization;
    struct gpu_nvml_memory memory;
    unsigned int celsius;
    unsigned int milliwatts;
    char label[16];
    int rc = 0;

    (void)snprintf(label, sizeof(label), "%u", index);
    if (gpu->api.utilization(device, &utilization) == GPU_NVML_SUCCESS) {
        double percent = utilization.gpu > 100 ? 100.0 : (double)utilization.gpu;

        rc = metric_batch_add_labeled(batch, "gpu.utilization", metric_round(percent, 2),
                                      "gpu_index", label);
        *appended += rc == 0;
    }
    if (rc == 0 && gpu->api.memory(device, &memory) == GPU_NVML_SUCCESS) {
        rc = metric_batch_add_labeled(batch, "gpu.memory_used_mb",
                                      metric_round((double)memory.used / GPU_BYTES_PER_MIB, 0),
                                      "gpu_index", label);
        *appended += rc == 0;
        if (rc == 0)
            rc = metric_batch_add_labeled(batch, "gpu.memory_total_mb",
                                          metric_round((double)memory.total / GPU_BYTES_PER_MIB, 0),
                                          "gpu_index", label);
        *appended += rc == 0;
    }
    if (rc == 0 &&
        gpu->api.temperature(device, GPU_NVML_TEMPERATURE_GPU, &celsius) == GPU_NVML_SUCCESS) {
        rc = metric_batch_add_labeled(batch, "gpu.temperature_c", metric_round((double)celsius, 2),
                                      "gpu_index", label);
        *appended += rc == 0;
    }
    if (rc == 0 && gpu->api.power(device, &milliwatts) == GPU_NVML_SUCCESS) {
        rc = metric_batch_add_labeled(
            batch, "gpu.power_w", metric_round((double)milliwatts / 1000.0, 2), "gpu_index", label);
        *appended += rc == 0;
    }
    return rc;
}

/* -ENOENT without NVML or GPUs; -EIO when every query of every GPU failed (driver gone,
 * GPUs lost). */
static int gpu_collect(void *ctx, int64_t now_mono_ms, struct metric_batch *batch)
{
    struct gpu_collector *gpu = ctx;
    size_t appended = 0;

    (void)now_mono_ms; /* NVML averages over its own sample period */
    if (gpu->device_count == 0)
        return -ENOENT;
    for (unsigned int i = 0; i < gpu->device_count; i++) {
        int rc;

        if (gpu->devices[i] == NULL)
            continue;
        rc = gpu_emit_device(gpu, i, batch, &appended);
        if (rc < 0)
            return rc;
    }
    return appended > 0 ? 0 : -EIO;
}

static void gpu_destroy(void *ctx)
{
    struct gpu_collector *gpu = ctx;

    if (gpu == NULL)
        return;
    gpu_unload(gpu);
    free(gpu);
}

int collector_gpu_new(const struct collector_env *env, struct collector *out)
{
    struct gpu_collector *gpu;
    const char *library = secure_getenv(GPU_LIBRARY_ENV);

    if (env == NULL || out == NULL)
        return -EINVAL;
    gpu = calloc(1, sizeof(*gpu));
    if (gpu == NULL)
        return -ENOMEM;
    gpu_load(gpu, (library != NULL && library[0] != '\0') ? library : GPU_NVML_DEFAULT_LIBRARY);

    out->name = "gpu";
    out->ctx = gpu;
    out->collect = gpu_collect;
    out->destroy = gpu_destroy;
    return 0;
}

bool collector_gpu_present(const struct collector *c)
{
    const struct gpu_collector *gpu;

    if (c == NULL || c->ctx == NULL || c->collect != gpu_collect)
        return false;
    gpu = c->ctx;
    return gpu->device_count > 0;
}
