/* bcecli._native._kernel: the Python face of bce's C kernel.
 *
 * Plain CPython API and the buffer protocol only (no numpy C API): arrays come in as
 * any contiguous buffer of the expected item size, results go out as Python ints,
 * floats, tuples and bytes. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "bce_decimal.h"
#include "bce_exact.h"
#include "bce_math.h"

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
    {"elementary", py_elementary, METH_VARARGS,
     "elementary(name, source, target): target[i] = bce's exp, log or log1p of source[i]."},
    {"parse_double", py_parse_double, METH_O,
     "parse_double(bytes) -> float | None: the field's value, None where not handled."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "bcecli._native._kernel",
    "bce's C kernel: exact sums, its own elementary functions, the CSV scanner.", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__kernel(void) { return PyModule_Create(&module); }
