/* train_json.h - training results as JSON (the per-epoch objects of
 * reports, journals and `rcn train`). NaN/Inf are written as null
 * (rcn_json_num of jsonutil.h). */
#ifndef RCN_TRAIN_JSON_H
#define RCN_TRAIN_JSON_H

#include <jansson.h>

#include "rcn/train.h"

/* {"epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy",
 *  "seconds", "images_per_second"}: one epoch of a training. */
json_t *rcn_epoch_to_json(const rcn_epoch_stats *st);
/* {"status": "ok" | "diverged" | "aborted", "epochs": [...], "diverged":
 *  null | {"epoch", "batch", "loss"}, "seconds"}. */
json_t *rcn_train_result_to_json(const rcn_train_result *r);

#endif
