/* A stand-in for NVIDIA's libnvidia-ml.so.1, built as a shared object next to the unit-test
 * binaries (Makefile: FAKE_NVML) and loaded by the gpu collector's tests through
 * UPDRAFT_NVML_LIBRARY. Two GPUs with fixed readings; GPU 1 does not support power readings.
 * FAKE_NVML_DEVICES=N changes the count, FAKE_NVML_FAIL=init makes nvmlInit_v2 fail and
 * FAKE_NVML_FAIL=queries makes every device query fail (GPU lost). fake_nvml_calls() tells
 * the tests how often init and shutdown ran. Types as in NVML's nvml.h. Not thread-safe. */
#include <stdlib.h>
#include <string.h>

#define FAKE_NVML_SUCCESS 0
#define FAKE_NVML_ERROR_UNINITIALIZED 1
#define FAKE_NVML_ERROR_INVALID_ARGUMENT 2
#define FAKE_NVML_ERROR_NOT_SUPPORTED 3
#define FAKE_NVML_ERROR_DRIVER_NOT_LOADED 9
#define FAKE_NVML_ERROR_GPU_IS_LOST 15
#define FAKE_NVML_TEMPERATURE_GPU 0
#define FAKE_NVML_DEVICES 2

typedef int nvmlReturn_t;
typedef struct fake_nvml_device *nvmlDevice_t;
typedef struct {
    unsigned int gpu;
    unsigned int memory;
} nvmlUtilization_t;
typedef struct {
    unsigned long long total;
    unsigned long long free;
    unsigned long long used;
} nvmlMemory_t;

struct fake_nvml_device {
    unsigned int utilization;
    unsigned long long memory_total;
    unsigned long long memory_used;
    unsigned int celsius;
    unsigned int milliwatts; /* 0: not supported */
};

/* GPU 0: 16 GiB, 5120 MiB + 123456789 bytes used (5237.74 MiB), 123.456 W.
 * GPU 1: 24 GiB, 512.5 MiB used, power not supported. */
static struct fake_nvml_device fake_devices[FAKE_NVML_DEVICES] = {
    {37, 17179869184ULL, 5368709120ULL + 123456789ULL, 61, 123456},
    {100, 25769803776ULL, 537395200ULL, 45, 0},
};
static int fake_initialized;
static int fake_init_calls;
static int fake_shutdown_calls;

nvmlReturn_t nvmlInit_v2(void);
nvmlReturn_t nvmlShutdown(void);
nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int *count);
nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t *device);
nvmlReturn_t nvmlDeviceGetUtilizationRates(nvmlDevice_t device, nvmlUtilization_t *out);
nvmlReturn_t nvmlDeviceGetMemoryInfo(nvmlDevice_t device, nvmlMemory_t *out);
nvmlReturn_t nvmlDeviceGetTemperature(nvmlDevice_t device, int sensor, unsigned int *celsius);
nvmlReturn_t nvmlDeviceGetPowerUsage(nvmlDevice_t device, unsigned int *milliwatts);
void fake_nvml_calls(int *init_calls, int *shutdown_calls);

static int fake_fails(const char *what)
{
    const char *fail = getenv("FAKE_NVML_FAIL");

    return fail != NULL && strcmp(fail, what) == 0;
}

static unsigned int fake_device_count(void)
{
    const char *count = getenv("FAKE_NVML_DEVICES");
    long n = count != NULL ? strtol(count, NULL, 10) : FAKE_NVML_DEVICES;

    return (n >= 0 && n <= FAKE_NVML_DEVICES) ? (unsigned int)n : FAKE_NVML_DEVICES;
}

/* Common checks of a device query. */
static nvmlReturn_t fake_query(nvmlDevice_t device, const void *out)
{
    if (!fake_initialized)
        return FAKE_NVML_ERROR_UNINITIALIZED;
    if (device == NULL || out == NULL)
        return FAKE_NVML_ERROR_INVALID_ARGUMENT;
    return fake_fails("queries") ? FAKE_NVML_ERROR_GPU_IS_LOST : FAKE_NVML_SUCCESS;
}

nvmlReturn_t nvmlInit_v2(void)
{
    fake_init_calls++;
    if (fake_fails("init"))
        return FAKE_NVML_ERROR_DRIVER_NOT_LOADED;
    fake_initialized++;
    return FAKE_NVML_SUCCESS;
}

nvmlReturn_t nvmlShutdown(void)
{
    fake_shutdown_calls++;
    if (!fake_initialized)
        return FAKE_NVML_ERROR_UNINITIALIZED;
    fake_initialized--;
    return FAKE_NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int *count)
{
    if (!fake_initialized)
        return FAKE_NVML_ERROR_UNINITIALIZED;
    if (count == NULL)
        return FAKE_NVML_ERROR_INVALID_ARGUMENT;
    *count = fake_device_count();
    return FAKE_NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t *device)
{
    if (!fake_initialized)
        return FAKE_NVML_ERROR_UNINITIALIZED;
    if (index >= fake_device_count() || device == NULL)
        return FAKE_NVML_ERROR_INVALID_ARGUMENT;
    *device = &fake_devices[index];
    return FAKE_NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetUtilizationRates(nvmlDevice_t device, nvmlUtilization_t *out)
{
    nvmlReturn_t rc = fake_query(device, out);

    if (rc == FAKE_NVML_SUCCESS) {
        out->gpu = device->utilization;
        out->memory = device->utilization / 2;
    }
    return rc;
}

nvmlReturn_t nvmlDeviceGetMemoryInfo(nvmlDevice_t device, nvmlMemory_t *out)
{
    nvmlReturn_t rc = fake_query(device, out);

    if (rc == FAKE_NVML_SUCCESS) {
        out->total = device->memory_total;
        out->used = device->memory_used;
        out->free = device->memory_total - device->memory_used;
    }
    return rc;
}

nvmlReturn_t nvmlDeviceGetTemperature(nvmlDevice_t device, int sensor, unsigned int *celsius)
{
    nvmlReturn_t rc = fake_query(device, celsius);

    if (rc == FAKE_NVML_SUCCESS && sensor != FAKE_NVML_TEMPERATURE_GPU)
        return FAKE_NVML_ERROR_INVALID_ARGUMENT;
    if (rc == FAKE_NVML_SUCCESS)
        *celsius = device->celsius;
    return rc;
}

nvmlReturn_t nvmlDeviceGetPowerUsage(nvmlDevice_t device, unsigned int *milliwatts)
{
    nvmlReturn_t rc = fake_query(device, milliwatts);

    if (rc == FAKE_NVML_SUCCESS && device->milliwatts == 0)
        return FAKE_NVML_ERROR_NOT_SUPPORTED;
    if (rc == FAKE_NVML_SUCCESS)
        *milliwatts = device->milliwatts;
    return rc;
}

void fake_nvml_calls(int *init_calls, int *shutdown_calls)
{
    *init_calls = fake_init_calls;
    *shutdown_calls = fake_shutdown_calls;
}
