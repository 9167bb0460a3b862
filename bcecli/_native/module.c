/* bcecli._native._kernel: the Python face of bce's C kernel.
 *
 * Plain CPython API and the buffer protocol only (no numpy C API): arrays come in as
 * any contiguous buffer of the expected item size, results go out as Python ints,
 * floats, tuples and bytes. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "bce_arrow.h"
#include "bce_decimal.h"
#include "bce_exact.h"
#include "bce_hist.h"
#include "bce_loss.h"
#include "bce_math.h"
#include "bce_scan.h"
#include "bce_sums.h"

/* -- exact sums ----------------------------------------------------------------- */

/* The units of an exact sum as a Python int. */
static PyObject *exact_units(bce_exact *sum) {
    bce_exact_normalize(sum);
    int top = BCE_EXACT_LIMBS - 1;
    while (top > 0 && sum->limb[top] == 0) top--;
    PyObject *acc = PyLong_FromLongLong(sum->limb[top]);
    if (acc == NULL) return NULL;
    PyObject *shift = PyLong_FromLong(32);
    if (shift == NULL) {
        Py_DECREF(acc);
        return NULL;
    }
    for (int i = top - 1; i >= 0 && acc != NULL; i--) {
        PyObject *shifted = PyNumber_Lshift(acc, shift);
        Py_DECREF(acc);
        acc = NULL;
        if (shifted == NULL) break;
        PyObject *digit = PyLong_FromLongLong(sum->limb[i]);
        if (digit == NULL) {
            Py_DECREF(shifted);
            break;
        }
        acc = PyNumber_Or(shifted, digit);
        Py_DECREF(shifted);
        Py_DECREF(digit);
    }
    Py_DECREF(shift);
    return acc;
}

/* (units, special): the state of an ExactSum. */
PyObject *bce_exact_to_python(bce_exact *sum) {
    PyObject *units = exact_units(sum);
    if (units == NULL) return NULL;
    return Py_BuildValue("(Nd)", units, sum->special);
}

static int get_doubles(PyObject *object, Py_buffer *view, int writable) {
    if (PyObject_GetBuffer(object, view, PyBUF_C_CONTIGUOUS | (writable ? PyBUF_WRITABLE : 0)) < 0)
        return -1;
    if (view->len % (Py_ssize_t)sizeof(double) != 0) {
        PyErr_SetString(PyExc_ValueError, "expected a buffer of float64 values");
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

static PyObject *py_exact_sum(PyObject *self, PyObject *arg) {
    Py_buffer view;
    if (get_doubles(arg, &view, 0) < 0) return NULL;
    const double *values = (const double *)view.buf;
    Py_ssize_t count = view.len / (Py_ssize_t)sizeof(double);
    bce_exact sum;
    bce_exact_init(&sum);
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < count; i++) bce_exact_add(&sum, values[i]);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&view);
    return bce_exact_to_python(&sum);
}


/* -- the loss and the report's sums over arrays (the general path's chunks) ------ */

#define BCE_MAX_MODELS 64

typedef struct {
    Py_buffer views[2 * BCE_MAX_MODELS + 3];
    int count;
} buffers;

static void buffers_release(buffers *held) {
    for (int i = 0; i < held->count; i++) PyBuffer_Release(&held->views[i]);
    held->count = 0;
}

/* A contiguous buffer of `count` items of `itemsize` bytes (count < 0: any). */
static const void *hold(buffers *held, PyObject *object, Py_ssize_t itemsize, Py_ssize_t *count,
                        int writable, const char *what) {
    Py_buffer *view = &held->views[held->count];
    int flags = PyBUF_C_CONTIGUOUS | (writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(object, view, flags) < 0) return NULL;
    held->count++;
    if (view->itemsize != itemsize || view->len % itemsize != 0) {
        PyErr_Format(PyExc_ValueError, "%s: expected items of %zd bytes", what, itemsize);
        return NULL;
    }
    Py_ssize_t items = view->len / itemsize;
    if (*count >= 0 && items != *count) {
        PyErr_Format(PyExc_ValueError, "%s: %zd items, expected %zd", what, items, *count);
        return NULL;
    }
    *count = items;
    return view->buf;
}

static PyObject *py_losses(PyObject *self, PyObject *args) {
    PyObject *labels_object, *values_object, *loss_object, *prob_object;
    int logit;
    double eps;
    if (!PyArg_ParseTuple(args, "OOOOpd", &labels_object, &values_object, &loss_object,
                          &prob_object, &logit, &eps))
        return NULL;
    buffers held = {.count = 0};
    Py_ssize_t n = -1;
    const uint8_t *y = hold(&held, labels_object, 1, &n, 0, "labels");
    const double *values = y ? hold(&held, values_object, 8, &n, 0, "values") : NULL;
    double *loss = values ? (double *)hold(&held, loss_object, 8, &n, 1, "losses") : NULL;
    double *prob = NULL;
    if (loss && prob_object != Py_None) prob = (double *)hold(&held, prob_object, 8, &n, 1, "probs");
    if (!loss || (prob_object != Py_None && !prob)) {
        buffers_release(&held);
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    if (logit) {
        for (Py_ssize_t i = 0; i < n; i++) {
            loss[i] = bce_loss_from_logit(y[i] != 0, values[i]);
            if (prob) prob[i] = bce_sigmoid(values[i]);
        }
    } else {
        for (Py_ssize_t i = 0; i < n; i++) loss[i] = bce_loss_from_prob(y[i] != 0, values[i], eps);
    }
    Py_END_ALLOW_THREADS
    buffers_release(&held);
    Py_RETURN_NONE;
}

/* One group's sums as plain data: (rows, positive rows, weight, weight_sq, positives,
 * [(clipped, (loss, loss_sq, loss_w, prob, brier, diff, diff_sq, diff_w)) per model]),
 * each sum an ExactSum state (units, special); the three weight sums None unweighted. */
static PyObject *group_to_python(bce_sums *acc, int group) {
    bce_exact *sums = acc->sums + (size_t)group * (size_t)bce_sums_slots(acc->n_models);
    PyObject *models = PyList_New(acc->n_models);
    if (models == NULL) return NULL;
    for (int m = 0; m < acc->n_models; m++) {
        bce_exact *model = sums + BCE_GROUP_SUMS + m * BCE_MODEL_SUMS;
        PyObject *states = PyTuple_New(BCE_MODEL_SUMS);
        if (states == NULL) {
            Py_DECREF(models);
            return NULL;
        }
        for (int s = 0; s < BCE_MODEL_SUMS; s++) {
            /* Unweighted, w (w l) is w l and w d is d: the same sums. */
            int source = s;
            if (!acc->weighted && s == BCE_LOSS_W) source = BCE_LOSS;
            if (!acc->weighted && s == BCE_DIFF_W) source = BCE_DIFF;
            PyObject *state = bce_exact_to_python(&model[source]);
            if (state == NULL) {
                Py_DECREF(states);
                Py_DECREF(models);
                return NULL;
            }
            PyTuple_SET_ITEM(states, s, state);
        }
        PyObject *entry = Py_BuildValue(
            "(LN)", (long long)acc->clipped[(size_t)group * (size_t)acc->n_models + (size_t)m],
            states);
        if (entry == NULL) {
            Py_DECREF(models);
            return NULL;
        }
        PyList_SET_ITEM(models, m, entry);
    }
    if (!acc->weighted)
        return Py_BuildValue("(LLOOON)", (long long)acc->rows[group],
                             (long long)acc->positives[group], Py_None, Py_None, Py_None, models);
    PyObject *weight = bce_exact_to_python(&sums[BCE_WEIGHT]);
    PyObject *weight_sq = weight ? bce_exact_to_python(&sums[BCE_WEIGHT_SQ]) : NULL;
    PyObject *positives = weight_sq ? bce_exact_to_python(&sums[BCE_POSITIVES]) : NULL;
    if (positives == NULL) {
        Py_XDECREF(weight);
        Py_XDECREF(weight_sq);
        Py_DECREF(models);
        return NULL;
    }
    return Py_BuildValue("(LLNNNN)", (long long)acc->rows[group], (long long)acc->positives[group],
                         weight, weight_sq, positives, models);
}

PyObject *bce_sums_to_python(bce_sums *acc) {
    PyObject *groups = PyList_New(acc->n_groups);
    if (groups == NULL) return NULL;
    for (int g = 0; g < acc->n_groups; g++) {
        PyObject *group = group_to_python(acc, g);
        if (group == NULL) {
            Py_DECREF(groups);
            return NULL;
        }
        PyList_SET_ITEM(groups, g, group);
    }
    return groups;
}

static PyObject *py_group_sums(PyObject *self, PyObject *args) {
    PyObject *labels_object, *probs_object, *losses_object, *weight_object, *ids_object;
    int n_groups, logit;
    double eps;
    if (!PyArg_ParseTuple(args, "OOOOOipd", &labels_object, &probs_object, &losses_object,
                          &weight_object, &ids_object, &n_groups, &logit, &eps))
        return NULL;
    PyObject *probs_list = PySequence_Fast(probs_object, "probs must be a sequence");
    if (probs_list == NULL) return NULL;
    PyObject *losses_list = PySequence_Fast(losses_object, "losses must be a sequence");
    if (losses_list == NULL) {
        Py_DECREF(probs_list);
        return NULL;
    }
    Py_ssize_t n_models = PySequence_Fast_GET_SIZE(probs_list);
    PyObject *result = NULL;
    buffers held = {.count = 0};
    const double *p[BCE_MAX_MODELS], *loss[BCE_MAX_MODELS];
    if (n_models < 1 || n_models > BCE_MAX_MODELS ||
        PySequence_Fast_GET_SIZE(losses_list) != n_models || n_groups < 1) {
        PyErr_SetString(PyExc_ValueError, "group_sums: bad model or group count");
        goto done;
    }
    Py_ssize_t n = -1;
    const uint8_t *y = hold(&held, labels_object, 1, &n, 0, "labels");
    if (y == NULL) goto done;
    for (Py_ssize_t m = 0; m < n_models; m++) {
        p[m] = hold(&held, PySequence_Fast_GET_ITEM(probs_list, m), 8, &n, 0, "probs");
        if (p[m] == NULL) goto done;
        loss[m] = hold(&held, PySequence_Fast_GET_ITEM(losses_list, m), 8, &n, 0, "losses");
        if (loss[m] == NULL) goto done;
    }
    const double *w = NULL;
    if (weight_object != Py_None && (w = hold(&held, weight_object, 8, &n, 0, "weight")) == NULL)
        goto done;
    const Py_ssize_t *ids = NULL;
    if (ids_object != Py_None) {
        ids = hold(&held, ids_object, (Py_ssize_t)sizeof(Py_ssize_t), &n, 0, "group ids");
        if (ids == NULL) goto done;
        for (Py_ssize_t i = 0; i < n; i++) {
            if (ids[i] < 0 || ids[i] >= n_groups) {
                PyErr_SetString(PyExc_ValueError, "group_sums: a group id is out of range");
                goto done;
            }
        }
    }
    bce_sums acc;
    if (bce_sums_init(&acc, n_groups, (int)n_models, w != NULL) < 0) {
        PyErr_NoMemory();
        goto done;
    }
    Py_BEGIN_ALLOW_THREADS
    double row_p[BCE_MAX_MODELS], row_loss[BCE_MAX_MODELS];
    uint8_t row_clipped[BCE_MAX_MODELS];
    for (Py_ssize_t i = 0; i < n; i++) {
        for (Py_ssize_t m = 0; m < n_models; m++) {
            row_p[m] = p[m][i];
            row_loss[m] = loss[m][i];
            row_clipped[m] = logit ? 0 : (uint8_t)bce_is_clipped(p[m][i], eps);
        }
        bce_sums_add_row(&acc, ids ? (int)ids[i] : 0, y[i] != 0, row_p, row_loss, w ? w[i] : 1.0,
                         logit ? NULL : row_clipped);
    }
    Py_END_ALLOW_THREADS
    result = bce_sums_to_python(&acc);
    bce_sums_free(&acc);
done:
    buffers_release(&held);
    Py_DECREF(probs_list);
    Py_DECREF(losses_list);
    return result;
}

/* -- the CSV fast path ------------------------------------------------------------ */

/* A sequence of small ints into `out` (at most `most` of them); the count, or -1. */
static Py_ssize_t int_list(PyObject *object, int *out, Py_ssize_t most, const char *what) {
    PyObject *items = PySequence_Fast(object, what);
    if (items == NULL) return -1;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(items);
    if (n > most) {
        Py_DECREF(items);
        PyErr_Format(PyExc_ValueError, "scan_csv: more than %zd %s", most, what);
        return -1;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        long value = PyLong_AsLong(PySequence_Fast_GET_ITEM(items, i));
        if (value == -1 && PyErr_Occurred()) {
            Py_DECREF(items);
            return -1;
        }
        if (value < INT_MIN || value > INT_MAX) {
            Py_DECREF(items);
            PyErr_Format(PyExc_ValueError, "scan_csv: %s out of range", what);
            return -1;
        }
        out[i] = (int)value;
    }
    Py_DECREF(items);
    return n;
}

/* The groups' keys: a tuple per group of str (None for an empty field) per --by column. */
static PyObject *keys_to_python(const bce_scan_result *result, int n_by) {
    PyObject *keys = PyList_New(result->n_groups);
    if (keys == NULL) return NULL;
    for (int g = 0; g < result->n_groups; g++) {
        PyObject *key = PyTuple_New(n_by);
        if (key == NULL) {
            Py_DECREF(keys);
            return NULL;
        }
        PyList_SET_ITEM(keys, g, key);
        const char *stored = result->keys + result->key_start[g];
        for (int j = 0; j < n_by; j++) {
            uint32_t length;
            memcpy(&length, stored, sizeof length);
            stored += sizeof length;
            PyObject *value;
            if (length == 0) {
                value = Py_None;
                Py_INCREF(value);
            } else {
                value = PyUnicode_DecodeUTF8(stored, (Py_ssize_t)length, "strict");
                if (value == NULL) {
                    Py_DECREF(keys);
                    return NULL;
                }
            }
            PyTuple_SET_ITEM(key, j, value);
            stored += length;
        }
    }
    return keys;
}

static PyObject *exact_list(bce_exact *sums, int n) {
    PyObject *list = PyList_New(n);
    if (list == NULL) return NULL;
    for (int i = 0; i < n; i++) {
        PyObject *state = bce_exact_to_python(&sums[i]);
        if (state == NULL) {
            Py_DECREF(list);
            return NULL;
        }
        PyList_SET_ITEM(list, i, state);
    }
    return list;
}

static PyObject *count_list(const int64_t *counts, int n) {
    PyObject *list = PyList_New(n);
    if (list == NULL) return NULL;
    for (int i = 0; i < n; i++) {
        PyObject *count = PyLong_FromLongLong((long long)counts[i]);
        if (count == NULL) {
            Py_DECREF(list);
            return NULL;
        }
        PyList_SET_ITEM(list, i, count);
    }
    return list;
}

/* The bins: (rows, positive rows, weight, prob, positives), one list each of every
 * column's bins in turn, the exact sums as ExactSum states; weight and positives None
 * unweighted (they are counts). */
static PyObject *bins_to_python(bce_scan_result *result, int bins) {
    PyObject *rows = count_list(result->bin_rows, bins);
    PyObject *positive_rows = rows ? count_list(result->bin_positive_rows, bins) : NULL;
    PyObject *prob = positive_rows ? exact_list(result->bin_prob, bins) : NULL;
    if (prob == NULL) {
        Py_XDECREF(rows);
        Py_XDECREF(positive_rows);
        return NULL;
    }
    if (!result->sums.weighted)
        return Py_BuildValue("(NNONO)", rows, positive_rows, Py_None, prob, Py_None);
    PyObject *weight = exact_list(result->bin_weight, bins);
    PyObject *positives = weight ? exact_list(result->bin_positives, bins) : NULL;
    if (positives == NULL) {
        Py_XDECREF(weight);
        Py_DECREF(rows);
        Py_DECREF(positive_rows);
        Py_DECREF(prob);
        return NULL;
    }
    return Py_BuildValue("(NNNNN)", rows, positive_rows, weight, prob, positives);
}

/* The block's worst rows: (loss, row within the block from 0, label, prob) each. */
static PyObject *worst_to_python(const bce_scan_result *result) {
    PyObject *rows = PyList_New(result->n_worst);
    if (rows == NULL) return NULL;
    for (int i = 0; i < result->n_worst; i++) {
        const bce_scan_worst *row = &result->worst[i];
        PyObject *entry =
            Py_BuildValue("(dLid)", row->loss, (long long)row->row, row->label, row->prob);
        if (entry == NULL) {
            Py_DECREF(rows);
            return NULL;
        }
        PyList_SET_ITEM(rows, i, entry);
    }
    return rows;
}

/* The loss histogram's edges: None for none, else a buffer of ascending float64 values,
 * held in `view` (*held set) until the scan is done. 0 on success; -1 with an exception. */
static int hist_edges(PyObject *object, Py_buffer *view, int *held, const double **edges,
                      int *n_edges) {
    *edges = NULL;
    *n_edges = 0;
    if (object == NULL || object == Py_None) return 0;
    if (get_doubles(object, view, 0) < 0) return -1;
    *held = 1;
    Py_ssize_t n = view->len / (Py_ssize_t)sizeof(double);
    const double *values = (const double *)view->buf;
    int ok = n >= 1 && n <= BCE_HIST_MAX_EDGES;
    for (Py_ssize_t i = 1; i < n && ok; i++) ok = values[i - 1] < values[i];
    if (!ok) {
        PyErr_SetString(PyExc_ValueError, "loss histogram: 1 to 1024 ascending edges expected");
        return -1;
    }
    *edges = values;
    *n_edges = (int)n;
    return 0;
}

/* The histogram: per model (rows per bin, exact weight per bin as ExactSum states or
 * None unweighted: the weights are the rows); None when none was kept. */
static PyObject *hist_to_python(bce_hist *hist) {
    if (hist->edges == NULL) Py_RETURN_NONE;
    int bins = bce_hist_bins(hist);
    PyObject *models = PyList_New(hist->n_models);
    if (models == NULL) return NULL;
    for (int m = 0; m < hist->n_models; m++) {
        PyObject *rows = count_list(hist->rows + (size_t)m * (size_t)bins, bins);
        if (rows == NULL) {
            Py_DECREF(models);
            return NULL;
        }
        PyObject *weight = Py_None;
        Py_INCREF(weight);
        if (hist->weighted) {
            Py_DECREF(weight);
            weight = exact_list(hist->weight + (size_t)m * (size_t)bins, bins);
            if (weight == NULL) {
                Py_DECREF(rows);
                Py_DECREF(models);
                return NULL;
            }
        }
        PyObject *entry = Py_BuildValue("(NN)", rows, weight); /* consumes both */
        if (entry == NULL) {
            Py_DECREF(models);
            return NULL;
        }
        PyList_SET_ITEM(models, m, entry);
    }
    return models;
}

static PyObject *py_scan_csv(PyObject *self, PyObject *args) {
    PyObject *block_object, *predictions, *by_object = NULL, *edges_object = NULL;
    bce_scan_config config;
    memset(&config, 0, sizeof config);
    int delimiter;
    if (!PyArg_ParseTuple(args, "OiiiOipd|OiiO", &block_object, &delimiter, &config.n_fields,
                          &config.label, &predictions, &config.weight, &config.logit, &config.eps,
                          &by_object, &config.bins, &config.worst, &edges_object))
        return NULL;
    if (delimiter < 1 || delimiter > 127) {
        PyErr_SetString(PyExc_ValueError, "scan_csv: the delimiter must be one ASCII byte");
        return NULL;
    }
    config.delimiter = (char)delimiter;
    Py_ssize_t n_models =
        int_list(predictions, config.predictions, BCE_SCAN_MAX_MODELS, "prediction columns");
    if (n_models < 0) return NULL;
    if (n_models < 1) {
        PyErr_SetString(PyExc_ValueError, "scan_csv: bad number of prediction columns");
        return NULL;
    }
    config.n_models = (int)n_models;
    if (by_object != NULL && by_object != Py_None) {
        Py_ssize_t n_by = int_list(by_object, config.by, BCE_SCAN_MAX_BY, "--by columns");
        if (n_by < 0) return NULL;
        config.n_by = (int)n_by;
    }
    if (config.bins < 0 || config.bins > BCE_SCAN_MAX_BINS ||
        config.bins * config.n_models > BCE_SCAN_MAX_BIN_CELLS || config.worst < 0 ||
        config.worst > BCE_SCAN_MAX_WORST) {
        PyErr_SetString(PyExc_ValueError, "scan_csv: bad number of bins or worst rows");
        return NULL;
    }
    /* A field may have more than one role (-w prob): the scanner reads it as each. */
    int fields[BCE_SCAN_MAX_MODELS + BCE_SCAN_MAX_BY + 2], n_used = 0;
    fields[n_used++] = config.label;
    if (config.weight >= 0) fields[n_used++] = config.weight;
    for (int m = 0; m < config.n_models; m++) fields[n_used++] = config.predictions[m];
    for (int j = 0; j < config.n_by; j++) fields[n_used++] = config.by[j];
    int fields_ok = config.n_fields > 0 && config.weight >= -1;
    for (int i = 0; i < n_used && fields_ok; i++) {
        fields_ok = fields[i] >= 0 && fields[i] < config.n_fields;
    }
    if (!fields_ok) {
        PyErr_SetString(PyExc_ValueError, "scan_csv: a field index is out of range");
        return NULL;
    }
    Py_buffer edges_view;
    int edges_held = 0;
    if (hist_edges(edges_object, &edges_view, &edges_held, &config.hist_edges,
                   &config.hist_n_edges) < 0) {
        if (edges_held) PyBuffer_Release(&edges_view);
        return NULL;
    }
    double *edges = NULL;
    if (config.bins) {
        edges = malloc(((size_t)config.bins + 1) * sizeof *edges);
        if (edges == NULL) {
            if (edges_held) PyBuffer_Release(&edges_view);
            return PyErr_NoMemory();
        }
        /* np.arange(bins + 1) / bins: each i / bins rounded once. */
        for (int i = 0; i <= config.bins; i++) edges[i] = (double)i / (double)config.bins;
        config.edges = edges;
    }
    Py_buffer view;
    if (PyObject_GetBuffer(block_object, &view, PyBUF_SIMPLE) < 0) {
        free(edges);
        if (edges_held) PyBuffer_Release(&edges_view);
        return NULL;
    }
    bce_scan_result found;
    if (bce_scan_result_init(&found, &config) < 0) {
        PyBuffer_Release(&view);
        free(edges);
        if (edges_held) PyBuffer_Release(&edges_view);
        return PyErr_NoMemory();
    }
    int scanned;
    Py_BEGIN_ALLOW_THREADS
    scanned = bce_scan_block(&config, (const char *)view.buf, (size_t)view.len, &found);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&view);
    free(edges);
    PyObject *result = NULL;
    if (scanned < 0) {
        PyErr_NoMemory();
    } else if (scanned == 0) {
        result = Py_None;
        Py_INCREF(result);
    } else {
        found.sums.n_groups = found.n_groups; /* the rest is spare capacity */
        PyObject *groups = bce_sums_to_python(&found.sums);
        PyObject *keys = NULL, *bins = NULL, *worst = NULL, *hist = NULL;
        int ok = groups != NULL;
        if (ok && config.n_by) ok = (keys = keys_to_python(&found, config.n_by)) != NULL;
        if (ok && config.bins) ok = (bins = bins_to_python(&found, config.bins * config.n_models)) != NULL;
        if (ok && config.worst) ok = (worst = worst_to_python(&found)) != NULL;
        if (ok) ok = (hist = hist_to_python(&found.hist)) != NULL;
        if (ok) {
            result = Py_BuildValue("(LNOOOO)", (long long)found.rows, groups,
                                   keys ? keys : Py_None, bins ? bins : Py_None,
                                   worst ? worst : Py_None, hist);
            groups = NULL;
        }
        Py_XDECREF(groups);
        Py_XDECREF(keys);
        Py_XDECREF(bins);
        Py_XDECREF(worst);
        Py_XDECREF(hist);
    }
    bce_scan_result_free(&found);
    if (edges_held) PyBuffer_Release(&edges_view);
    return result;
}

/* For tests: `value` added `count` times, so the carries of more than 2^30 adds (a
 * normalisation) are exercised without an array of that many values. */
static PyObject *py_exact_sum_repeated(PyObject *self, PyObject *args) {
    double value;
    long long count;
    if (!PyArg_ParseTuple(args, "dL", &value, &count)) return NULL;
    bce_exact sum;
    bce_exact_init(&sum);
    Py_BEGIN_ALLOW_THREADS
    for (long long i = 0; i < count; i++) bce_exact_add(&sum, value);
    Py_END_ALLOW_THREADS
    return bce_exact_to_python(&sum);
}

/* For tests: each loss's loss histogram bin over `edges`, as the fast paths find it. */
static PyObject *py_hist_bins(PyObject *self, PyObject *args) {
    PyObject *edges_object, *losses_object;
    if (!PyArg_ParseTuple(args, "OO", &edges_object, &losses_object)) return NULL;
    Py_buffer edges_view, losses_view;
    int held = 0, n_edges;
    const double *edges;
    if (hist_edges(edges_object, &edges_view, &held, &edges, &n_edges) < 0 || edges == NULL) {
        if (held) PyBuffer_Release(&edges_view);
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "hist_bins: edges expected");
        return NULL;
    }
    if (get_doubles(losses_object, &losses_view, 0) < 0) {
        PyBuffer_Release(&edges_view);
        return NULL;
    }
    Py_ssize_t n = losses_view.len / (Py_ssize_t)sizeof(double);
    const double *losses = (const double *)losses_view.buf;
    bce_hist hist;
    if (bce_hist_init(&hist, edges, n_edges, 1, 0) < 0) {
        PyBuffer_Release(&losses_view);
        PyBuffer_Release(&edges_view);
        return PyErr_NoMemory();
    }
    PyObject *bins = PyList_New(n);
    for (Py_ssize_t i = 0; bins != NULL && i < n; i++) {
        int found = bce_hist_find(&hist, losses[i]);
        if (found != bce_hist_bin(edges, n_edges, losses[i])) found = -1; /* never: a test sees */
        PyObject *bin = PyLong_FromLong(found);
        if (bin == NULL) Py_CLEAR(bins);
        else PyList_SET_ITEM(bins, i, bin);
    }
    bce_hist_free(&hist);
    PyBuffer_Release(&losses_view);
    PyBuffer_Release(&edges_view);
    return bins;
}

/* -- the Parquet fast path: Arrow columns scored in place --------------------------- */

/* (type code, buffer, offset): one Arrow column's value buffer, held in `view`, with
 * `rows` values from `offset` on. 0 on success; -1 with an exception set. */
static int arrow_column(PyObject *spec, Py_ssize_t rows, bce_arrow_column *column,
                        Py_buffer *view, int *held) {
    const char *code;
    Py_ssize_t code_length, offset;
    PyObject *buffer;
    if (!PyArg_ParseTuple(spec, "s#On", &code, &code_length, &buffer, &offset)) return -1;
    int size = code_length == 1 ? bce_arrow_item_size(code[0]) : 0;
    if (size == 0) {
        PyErr_Format(PyExc_ValueError, "arrow_sums: no type code %s", code);
        return -1;
    }
    if (PyObject_GetBuffer(buffer, view, PyBUF_SIMPLE) < 0) return -1;
    (*held)++;
    if (offset < 0 || (view->len / size) - offset < rows) {
        PyErr_SetString(PyExc_ValueError, "arrow_sums: a buffer is shorter than its rows");
        return -1;
    }
    column->type = code[0];
    column->values = (const char *)view->buf + offset * size;
    return 0;
}

static PyObject *py_arrow_sums(PyObject *self, PyObject *args) {
    PyObject *label_spec, *predictions, *weight_spec, *edges_object = NULL;
    Py_ssize_t rows;
    int logit;
    double eps;
    if (!PyArg_ParseTuple(args, "OOOnpd|O", &label_spec, &predictions, &weight_spec, &rows, &logit,
                          &eps, &edges_object))
        return NULL;
    Py_buffer edges_view;
    int edges_held = 0, n_edges;
    const double *edges;
    if (hist_edges(edges_object, &edges_view, &edges_held, &edges, &n_edges) < 0) {
        if (edges_held) PyBuffer_Release(&edges_view);
        return NULL;
    }
    PyObject *specs = PySequence_Fast(predictions, "predictions must be a sequence");
    if (specs == NULL) {
        if (edges_held) PyBuffer_Release(&edges_view);
        return NULL;
    }
    Py_ssize_t n_models = PySequence_Fast_GET_SIZE(specs);
    Py_buffer views[BCE_ARROW_MAX_MODELS + 2];
    int held = 0;
    PyObject *result = NULL;
    bce_arrow_column label, weight, columns[BCE_ARROW_MAX_MODELS];
    if (n_models < 1 || n_models > BCE_ARROW_MAX_MODELS || rows < 0) {
        PyErr_SetString(PyExc_ValueError, "arrow_sums: bad number of prediction columns or rows");
        goto done;
    }
    if (arrow_column(label_spec, rows, &label, &views[held], &held) < 0) goto done;
    for (Py_ssize_t m = 0; m < n_models; m++)
        if (arrow_column(PySequence_Fast_GET_ITEM(specs, m), rows, &columns[m], &views[held],
                         &held) < 0)
            goto done;
    int weighted = weight_spec != Py_None;
    if (weighted && arrow_column(weight_spec, rows, &weight, &views[held], &held) < 0) goto done;
    bce_sums acc;
    if (bce_sums_init(&acc, 1, (int)n_models, weighted) < 0) {
        PyErr_NoMemory();
        goto done;
    }
    bce_hist hist;
    if (bce_hist_init(&hist, edges, n_edges, (int)n_models, weighted) < 0) {
        bce_sums_free(&acc);
        PyErr_NoMemory();
        goto done;
    }
    int scored;
    Py_BEGIN_ALLOW_THREADS
    scored = bce_arrow_score(&label, columns, (int)n_models, weighted ? &weight : NULL,
                             (int64_t)rows, logit, eps, &acc, &hist);
    Py_END_ALLOW_THREADS
    if (scored < 0) {
        PyErr_NoMemory();
    } else if (scored == 0) {
        result = Py_None;
        Py_INCREF(result);
    } else {
        PyObject *groups = bce_sums_to_python(&acc);
        PyObject *bins = groups ? hist_to_python(&hist) : NULL;
        if (bins != NULL) result = Py_BuildValue("(NN)", groups, bins);
        else Py_XDECREF(groups);
    }
    bce_hist_free(&hist);
    bce_sums_free(&acc);
done:
    for (int i = 0; i < held; i++) PyBuffer_Release(&views[i]);
    if (edges_held) PyBuffer_Release(&edges_view);
    Py_DECREF(specs);
    return result;
}

/* -- elementary functions and the decimal parser, exposed for tests ------------- */

static PyObject *py_elementary(PyObject *self, PyObject *args) {
    const char *name;
    PyObject *source, *target;
    if (!PyArg_ParseTuple(args, "sOO", &name, &source, &target)) return NULL;
    double (*function)(double);
    if (strcmp(name, "exp") == 0) function = bce_exp;
    else if (strcmp(name, "log") == 0) function = bce_log;
    else if (strcmp(name, "log1p") == 0) function = bce_log1p;
    else {
        PyErr_Format(PyExc_ValueError, "no elementary function %s", name);
        return NULL;
    }
    Py_buffer in, out;
    if (get_doubles(source, &in, 0) < 0) return NULL;
    if (get_doubles(target, &out, 1) < 0) {
        PyBuffer_Release(&in);
        return NULL;
    }
    if (out.len != in.len) {
        PyBuffer_Release(&in);
        PyBuffer_Release(&out);
        PyErr_SetString(PyExc_ValueError, "source and target differ in length");
        return NULL;
    }
    const double *x = (const double *)in.buf;
    double *y = (double *)out.buf;
    Py_ssize_t count = in.len / (Py_ssize_t)sizeof(double);
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < count; i++) y[i] = function(x[i]);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&in);
    PyBuffer_Release(&out);
    Py_RETURN_NONE;
}

static PyObject *py_parse_double(PyObject *self, PyObject *arg) {
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0) return NULL;
    double value = 0.0;
    int parsed = bce_parse_double((const char *)view.buf, (size_t)view.len, &value);
    PyBuffer_Release(&view);
    if (!parsed) Py_RETURN_NONE;
    return PyFloat_FromDouble(value);
}

static PyMethodDef methods[] = {
    {"exact_sum", py_exact_sum, METH_O,
     "exact_sum(float64 buffer) -> (units, special): the exact sum, as ExactSum's state."},
    {"exact_sum_repeated", py_exact_sum_repeated, METH_VARARGS,
     "exact_sum_repeated(value, count) -> (units, special): value added count times."},
    {"hist_bins", py_hist_bins, METH_VARARGS,
     "hist_bins(edges, losses) -> [bin]: each loss's loss histogram bin (for tests)."},
    {"elementary", py_elementary, METH_VARARGS,
     "elementary(name, source, target): target[i] = bce's exp, log or log1p of source[i]."},
    {"parse_double", py_parse_double, METH_O,
     "parse_double(bytes) -> float | None: the field's value, None where not handled."},
    {"losses", py_losses, METH_VARARGS,
     "losses(labels, values, loss_out, prob_out, logit, eps): each row's loss (and sigmoid)."},
    {"group_sums", py_group_sums, METH_VARARGS,
     "group_sums(labels, probs, losses, weight, group_ids, n_groups, logit, eps) -> per group."},
    {"scan_csv", py_scan_csv, METH_VARARGS,
     "scan_csv(block, delimiter, n_fields, label, predictions, weight, logit, eps,\n"
     "         by=(), bins=0, worst=0, hist_edges=None)\n"
     "-> (rows, [group], keys, bins, worst, histogram) | None: a block of CSV lines scored\n"
     "in one pass, or None where a line needs the general parser."},
    {"arrow_sums", py_arrow_sums, METH_VARARGS,
     "arrow_sums(label, predictions, weight, rows, logit, eps, hist_edges=None)\n"
     "-> ([group], histogram) | None: Arrow columns, each (type code, values buffer,\n"
     "offset), scored in place under the 0/1 rule, or None where a row needs the general\n"
     "path (weight None: unweighted)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "bcecli._native._kernel",
    "bce's C kernel: exact sums, its own elementary functions, the CSV and Arrow fast paths.", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__kernel(void) { return PyModule_Create(&module); }
