/* net.h - a residual network of MODEL.md: architecture, buffers, passes.
 *
 * An rcn_arch describes the network (a preset or a custom spec). An rcn_net
 * owns every buffer the network needs for batches of up to max_batch
 * samples: parameters, gradients, momentum, running statistics, activations,
 * backward scratch. They are allocated once by rcn_net_create; forward,
 * backward and the SGD step never allocate.
 *
 * Parameters are one flat float array; each named tensor (PyTorch
 * state_dict names, see MODEL.md "Saved models") is a slice of it or of the
 * flat buffer array (running statistics). The gradient and momentum arrays
 * have the parameter array's layout: a parameter tensor's gradient is at
 * the same offset in rcn_net_grads as its data in rcn_net_params. */
#ifndef RCN_NET_H
#define RCN_NET_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "rcn/error.h"
#include "rcn/rng.h"

#define RCN_MAX_STAGES 8
#define RCN_MAX_BLOCKS 128    /* residual blocks over all stages */
#define RCN_MAX_BATCH 10000000
#define RCN_IMG_H 28
#define RCN_IMG_W 28
#define RCN_CLASSES 10
#define RCN_PIXEL_MEAN 0.1307f
#define RCN_PIXEL_STD 0.3081f

typedef struct {
    char name[32]; /* preset name, or "custom" */
    int stem_k, stem_stride, stem_c;
    int stem_pool; /* 1: maxpool 3x3 stride 2 pad 1 after the stem */
    int n_stages;
    int stage_c[RCN_MAX_STAGES];
    int stage_blocks[RCN_MAX_STAGES];
    float dropout;
} rcn_arch;

/* Fills `a` with preset `name` ("rcn8", "rcn14", "resnet18"). */
int rcn_arch_preset(const char *name, rcn_arch *a, rcn_error *err);

/* Parses a model spec: either a string (preset name) or an object
 *   {"preset": "rcn8"}  (optionally with "dropout")
 *   {"stem": {"kernel": 3, "stride": 1, "channels": 16, "maxpool": false},
 *    "stages": [{"channels": 16, "blocks": 1}, ...], "dropout": 0.5}
 * `where` names the JSON path for errors (e.g. "jobs/x.json: model"). */
int rcn_arch_from_json(const json_t *j, const char *where, rcn_arch *a,
                       rcn_error *err);
/* New reference; round-trips through rcn_arch_from_json. */
json_t *rcn_arch_to_json(const rcn_arch *a);
int rcn_arch_validate(const rcn_arch *a, rcn_error *err);
/* Trainable parameters (conv/fc weights, fc bias, BN gamma/beta). */
int64_t rcn_arch_param_count(const rcn_arch *a);
/* Floats of non-trainable state (BN running mean and variance): the
 * rcn_net_num_buffers of a net of this architecture. */
int64_t rcn_arch_buffer_count(const rcn_arch *a);
/* Forward FLOPs per image (2 per multiply-add, convolutions and FC). A
 * training step costs about 3x this. */
double rcn_arch_forward_flops(const rcn_arch *a);

/* ---- the layers of an architecture ------------------------------------
 * rcn_arch_walk is the one description of the network's topology: the
 * network's plan (rcn_net_create), the parameter and FLOP counts above and
 * the benchmark's per-layer view all visit the same sequence. */

typedef enum {
    RCN_LAYER_CONV,    /* k x k convolution, no bias, padding (k-1)/2 */
    RCN_LAYER_BN,      /* BatchNorm over cout channels, a ReLU fused if relu */
    RCN_LAYER_MAXPOOL, /* k x k max pool (the stem's optional one) */
    RCN_LAYER_GAP,     /* global average pool: (n, c, h, h) -> (n, c) */
    RCN_LAYER_FC       /* linear cin -> cout (RCN_CLASSES) with bias; dropout
                        * precedes it in training */
} rcn_layer_kind;

typedef enum {
    RCN_PART_STEM,     /* stem conv, its BN, the optional max pool */
    RCN_PART_CONV1,    /* a block's conv1 / bn1 */
    RCN_PART_CONV2,    /* a block's conv2 / bn2 */
    RCN_PART_SHORTCUT, /* a block's projection shortcut conv / BN */
    RCN_PART_HEAD      /* global average pool, fc */
} rcn_layer_part;

typedef struct {
    rcn_layer_kind kind;
    rcn_layer_part part;
    int stage, block;   /* stage and block within it; -1 outside the stages */
    int index;          /* residual block over all stages; -1 outside them */
    char name[40];      /* state_dict prefix ("stem.conv", "stages.1.0.bn2",
                         * "fc"); "" for layers without tensors */
    int cin, cout;      /* channels in and out (equal but for CONV and FC) */
    int k, stride, pad; /* CONV and MAXPOOL; 0 otherwise */
    int h, ho;          /* input and output side (square); 1 for FC, ho 1 for GAP */
    int relu;           /* BN: a ReLU follows (fused into the BN) */
    int needs_dx;       /* CONV: its input needs a gradient (not the image) */
    int64_t params;     /* trainable parameters */
    double flops;       /* forward FLOPs per image (2 per multiply-add; CONV, FC) */
} rcn_layer;

/* Returns 0 to go on, anything else to stop the walk. */
typedef int (*rcn_layer_fn)(const rcn_layer *l, void *ud);

/* Calls fn on the layers of `a` in forward order: stem conv, stem BN, the
 * stem's max pool (if stem_pool); per residual block conv1, bn1, conv2,
 * bn2, then the shortcut conv and BN when the block projects (stride 2 or a
 * change of channels; otherwise the shortcut is the identity); GAP; FC.
 * `a` must pass rcn_arch_validate (which itself walks an arch whose fields
 * are in range, to check the sides). Returns fn's first nonzero value, or
 * 0 after the last layer. */
int rcn_arch_walk(const rcn_arch *a, rcn_layer_fn fn, void *ud);

typedef struct rcn_net rcn_net;

typedef struct {
    char name[64];  /* e.g. "stages.1.0.conv1.weight" */
    int ndim;
    int shape[4];
    size_t numel;
    int is_param;   /* 1: in the parameter array (has a gradient); 0: buffer */
    size_t offset;  /* into the parameter or buffer array */
} rcn_tensor_info;

/* max_batch in 1..RCN_MAX_BATCH. Refuses (error with the estimate) a net
 * that needs more memory than rcn_mem_available (sysmem.h) reports. */
rcn_net *rcn_net_create(const rcn_arch *a, int max_batch, rcn_error *err);
/* Every byte rcn_net_create(a, max_batch) would allocate, without allocating
 * (the same as rcn_net_bytes of that net); -1 with *err for an invalid arch
 * or batch. */
int rcn_net_estimate_bytes(const rcn_arch *a, int max_batch, size_t *bytes, rcn_error *err);
void rcn_net_destroy(rcn_net *net);

const rcn_arch *rcn_net_arch(const rcn_net *net);
int rcn_net_max_batch(const rcn_net *net);
size_t rcn_net_bytes(const rcn_net *net); /* every byte the net allocated */

size_t rcn_net_num_params(const rcn_net *net);
float *rcn_net_params(rcn_net *net);
float *rcn_net_grads(rcn_net *net);
float *rcn_net_momentum(rcn_net *net);
size_t rcn_net_num_buffers(const rcn_net *net);
float *rcn_net_buffers(rcn_net *net);

int rcn_net_num_tensors(const rcn_net *net);
const rcn_tensor_info *rcn_net_tensor(const rcn_net *net, int i);
/* Data (parameter or buffer) and gradient (NULL for buffers) of tensor i. */
float *rcn_net_tensor_data(rcn_net *net, int i);
float *rcn_net_tensor_grad(rcn_net *net, int i);
int rcn_net_find_tensor(const rcn_net *net, const char *name); /* -1 if none */

/* Xavier-uniform conv/fc weights, fc bias 0, BN gamma 1 beta 0, running
 * mean 0 var 1, momentum 0; drawn from stream (seed, INIT, stream_a, 0). */
void rcn_net_init(rcn_net *net, uint64_t seed, uint64_t stream_a);

/* Loads images idx[0..n) (28*28 uint8 each, from `images`) and their labels
 * into the input buffer, normalised (x/255 - mean)/std. n <= max_batch. */
void rcn_net_load_batch(rcn_net *net, const uint8_t *images,
                        const uint8_t *labels, const int32_t *idx, int n);
/* The input buffer (n, 1, 28, 28) and label buffer, for callers that fill
 * them directly (tests). */
float *rcn_net_input(rcn_net *net);
uint8_t *rcn_net_labels(rcn_net *net);

/* Forward pass over the loaded batch of n samples. train != 0: batch
 * statistics (running stats updated), dropout with masks from
 * dropout_rng (may be NULL when the arch's dropout is 0). Returns the SUM of
 * per-sample cross-entropy losses; *correct (if not NULL) += hits. In eval
 * mode the batch runs in chunks of rcn_net_eval_chunk() samples (a sample's
 * result does not depend on its batch; a chunk's activations stay in the L2
 * cache where a large batch's do not): afterwards the logits hold all n
 * samples, the activation buffers the last chunk. Training batches are not
 * split: their batch statistics span the whole batch. */
/* Measured on Zen 3 (512 KiB L2), inference per CPU-second at batch 64,
 * chunks of 4 / 8 / 32: rcn8 ~4,790 / 4,790 / 4,200, rcn14 ~2,280 / 2,350 /
 * 2,200. */
#define RCN_EVAL_CHUNK 8
/* ... except for networks above a million parameters (resnet18), whose
 * per-call weight transforms chunks of 8 would repeat too often: resnet18
 * inference at batch 256 on Zen 3, 772 img/s in chunks of 8, 956 in 32. */
#define RCN_EVAL_CHUNK_BIG_PARAMS 1000000
#define RCN_EVAL_CHUNK_BIG 32
/* The chunk size rcn_net_forward uses for this network in eval mode. */
int rcn_net_eval_chunk(const rcn_net *net);
double rcn_net_forward(rcn_net *net, int n, int train, rcn_rng *dropout_rng,
                       int64_t *correct);
const float *rcn_net_logits(const rcn_net *net); /* (n, 10) */

/* Backward of the last train-mode forward; gradients of the MEAN loss,
 * overwritten. */
void rcn_net_backward(rcn_net *net, int n);

/* SGD with momentum, PyTorch's convention: g += wd*w; v = m*v + g; w -= lr*v. */
void rcn_net_sgd_step(rcn_net *net, float lr, float momentum, float weight_decay);

#endif
