/* train_json.c - training results as JSON; see include/rcn/train_json.h. */
#include "rcn/train_json.h"

#include "rcn/jsonutil.h"

json_t *rcn_epoch_to_json(const rcn_epoch_stats *st)
{
    json_t *o = json_object();
    json_object_set_new(o, "epoch", json_integer(st->epoch));
    json_object_set_new(o, "train_loss", rcn_json_num(st->train_loss));
    json_object_set_new(o, "train_accuracy", rcn_json_num(st->train_accuracy));
    json_object_set_new(o, "val_loss", rcn_json_num(st->val_loss));
    json_object_set_new(o, "val_accuracy", rcn_json_num(st->val_accuracy));
    json_object_set_new(o, "seconds", rcn_json_num(st->seconds));
    json_object_set_new(o, "images_per_second", rcn_json_num(st->images_per_second));
    return o;
}

json_t *rcn_train_result_to_json(const rcn_train_result *r)
{
    json_t *o = json_object();
    json_object_set_new(o, "status", json_string(r->diverged ? "diverged"
                                                 : r->aborted ? "aborted" : "ok"));
    json_t *ep = json_array();
    for (int i = 0; i < r->n_epochs; i++)
        json_array_append_new(ep, rcn_epoch_to_json(&r->epochs[i]));
    json_object_set_new(o, "epochs", ep);
    if (r->diverged)
        json_object_set_new(o, "diverged",
                            json_pack("{s:i, s:i, s:o}", "epoch", r->diverged_epoch, "batch",
                                      r->diverged_batch, "loss", rcn_json_num(r->diverged_loss)));
    else
        json_object_set_new(o, "diverged", json_null());
    json_object_set_new(o, "seconds", rcn_json_num(r->seconds));
    return o;
}
