/* test_recording.c — recorded trajectories ([system] data): the three file formats read back the
 * values written, every kind of bad data is one clear message (DDM_EUSAGE), and the held-out
 * split takes whole trajectories or one contiguous block, never single points. */
#include <criterion/criterion.h>
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ddm/recording.h"
#include "test_util.h"

/* A fresh directory per test; files are written there. */
static char dir[64];

static void make_dir(void) {
    snprintf(dir, sizeof dir, "/tmp/ddm_recording_XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

static void remove_dir(void) {
    char command[128];
    snprintf(command, sizeof command, "rm -rf %s", dir);
    cr_assert_eq(system(command), 0);
}

TestSuite(recording, .init = make_dir, .fini = remove_dir);

static const char *in_dir(const char *name) {
    static char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return path;
}

/* The value of sample t, coordinate c of trajectory b: distinct everywhere. */
static double value_at(int b, long t, int c) {
    return b * 1000 + t + 0.25 * c;
}

static void write_text(const char *name, const char *text) {
    FILE *f = fopen(in_dir(name), "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
}

/* (B,T,2) doubles (rank 2 when B = 0) with attribute dt (when dt > 0) and an optional time
 * vector of step time_step (0: none). */
static void write_h5(const char *name, int B, long T, double dt, double time_step) {
    const int rank = B ? 3 : 2, count = (B ? B : 1);
    double *values = malloc(sizeof(double) * count * T * 2);
    for (int b = 0; b < count; b++)
        for (long t = 0; t < T; t++)
            for (int c = 0; c < 2; c++) values[(b * T + t) * 2 + c] = value_at(b, t, c);
    hsize_t dims[3] = {(hsize_t)B, (hsize_t)T, 2};
    hid_t file = H5Fcreate(in_dir(name), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hid_t space = H5Screate_simple(rank, B ? dims : dims + 1, NULL);
    hid_t set =
        H5Dcreate2(file, "traj", H5T_IEEE_F64LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dwrite(set, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, values);
    if (dt > 0) {
        hid_t scalar = H5Screate(H5S_SCALAR);
        hid_t attr = H5Acreate2(set, "dt", H5T_NATIVE_DOUBLE, scalar, H5P_DEFAULT, H5P_DEFAULT);
        H5Awrite(attr, H5T_NATIVE_DOUBLE, &dt);
        H5Aclose(attr);
        H5Sclose(scalar);
    }
    if (time_step > 0) {
        hsize_t tdims[1] = {(hsize_t)T};
        for (long t = 0; t < T; t++) values[t] = t * time_step + (t == T / 2 ? 1e-3 : 0);
        hid_t tspace = H5Screate_simple(1, tdims, NULL);
        hid_t tset =
            H5Dcreate2(file, "t", H5T_IEEE_F64LE, tspace, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        H5Dwrite(tset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, values);
        H5Dclose(tset);
        H5Sclose(tspace);
    }
    H5Dclose(set);
    H5Sclose(space);
    H5Fclose(file);
    free(values);
}

/* A .npy (B,T,2) of `descr` ('<f8' or '<f4'), C order. */
static void write_npy(const char *name, int B, long T, const char *descr) {
    char header[128];
    int len =
        snprintf(header, sizeof header,
                 "{'descr': '%s', 'fortran_order': False, 'shape': (%d, %ld, 2), }", descr, B, T);
    int total = 10 + len + 1, pad = (64 - total % 64) % 64;
    FILE *f = fopen(in_dir(name), "wb");
    unsigned short hlen = (unsigned short)(len + pad + 1);
    fwrite("\x93NUMPY\x01\x00", 1, 8, f);
    fputc(hlen & 255, f);
    fputc(hlen >> 8, f);
    fputs(header, f);
    for (int i = 0; i < pad; i++) fputc(' ', f);
    fputc('\n', f);
    for (int b = 0; b < B; b++)
        for (long t = 0; t < T; t++)
            for (int c = 0; c < 2; c++) {
                double v = value_at(b, t, c);
                float single = (float)v;
                if (descr[2] == '8')
                    fwrite(&v, 8, 1, f);
                else
                    fwrite(&single, 4, 1, f);
            }
    fclose(f);
}

/* Loads `data` with the extra INI lines; returns the code, message in err. */
static int load(const char *data, const char *extra, struct recording *r, struct ddm_error *err) {
    struct ddm_config cfg;
    char text[1024];
    snprintf(text, sizeof text, "[system]\nname = rec\nvars = x, y\ndata = %s\n%s", in_dir(data),
             extra);
    config_from_text(&cfg, text);
    int code = recording_load(&cfg, r, err);
    config_free(&cfg);
    return code;
}

static void assert_values(const struct recording *r, int B, long T) {
    cr_assert_eq(r->k, 2);
    cr_assert_eq(r->trajectories, B);
    for (int b = 0; b < B; b++) {
        cr_assert_eq(recording_length(r, b), T);
        for (long t = 0; t < T; t++)
            for (int c = 0; c < 2; c++)
                cr_assert_eq(r->z[(r->offset[b] + t) * 2 + c], value_at(b, t, c));
    }
}

Test(recording, hdf5_rank3_with_dt_attribute) {
    struct recording r;
    struct ddm_error err = {0};
    write_h5("a.h5", 3, 150, 0.01, 0);
    cr_assert_eq(load("a.h5", "", &r, &err), 0, "%s", err.message);
    assert_values(&r, 3, 150);
    cr_assert_eq(r.dt, 0.01);
    cr_assert_str_eq(r.dataset, "/traj");
    cr_assert_gt(r.file_bytes, 0);
    recording_free(&r);
}

Test(recording, npy_float32_and_float64) {
    struct recording r;
    struct ddm_error err = {0};
    write_npy("a.npy", 2, 120, "<f8");
    cr_assert_eq(load("a.npy", "data_dt = 0.5", &r, &err), 0, "%s", err.message);
    assert_values(&r, 2, 120);
    cr_assert_eq(r.dt, 0.5);
    uint64_t hash = r.hash;
    recording_free(&r);
    write_npy("b.npy", 2, 120, "<f4"); /* the values are exact in float32: same samples */
    cr_assert_eq(load("b.npy", "data_dt = 0.5", &r, &err), 0, "%s", err.message);
    assert_values(&r, 2, 120);
    cr_assert_eq(r.hash, hash);
    recording_free(&r);
}

Test(recording, csv_header_time_column_and_separators) {
    char *text = malloc(1 << 16);
    size_t used = (size_t)sprintf(text, "t,x,y\n");
    for (int b = 0; b < 2; b++) {
        for (long t = 0; t < 60; t++)
            used += (size_t)sprintf(text + used, "%g,%.17g,%.17g\n", 0.1 * t, value_at(b, t, 0),
                                    value_at(b, t, 1));
        used += (size_t)sprintf(text + used, "nan,nan,NaN\n");
    }
    write_text("a.csv", text);
    free(text);
    struct recording r;
    struct ddm_error err = {0};
    cr_assert_eq(load("a.csv", "", &r, &err), 0, "%s", err.message);
    assert_values(&r, 2, 60);
    cr_assert_float_eq(r.dt, 0.1, 1e-12);
    recording_free(&r);
}

/* Each bad case answers DDM_EUSAGE with a message holding `expect`. */
static void assert_bad(const char *data, const char *extra, const char *expect) {
    struct recording r;
    struct ddm_error err = {0};
    cr_assert_eq(load(data, extra, &r, &err), DDM_EUSAGE, "%s: accepted", data);
    cr_assert_not_null(strstr(err.message, expect), "'%s' lacks '%s'", err.message, expect);
}

Test(recording, bad_files) {
    assert_bad("missing.h5", "", "No such file");
    write_text("a.txt", "1,2\n");
    assert_bad("a.txt", "data_dt = 1", "unknown file type");
    write_text("fake.h5", "not hdf5");
    assert_bad("fake.h5", "", "not an HDF5 file");
    write_h5("a.h5", 2, 150, 0.01, 0);
    assert_bad("a.h5", "data_dataset = /nothing", "no dataset '/nothing'");
    assert_bad("a.h5", "data_dt = 0.02", "disagrees with the file's sampling interval");
    write_h5("nodt.h5", 2, 150, 0, 0);
    assert_bad("nodt.h5", "", "no sampling interval");
    write_h5("short.h5", 0, 40, 0.1, 0);
    assert_bad("short.h5", "", "40 samples in all");
    write_h5("times.h5", 2, 150, 0, 0.01);
    assert_bad("times.h5", "", "not uniform");
    write_npy("a.npy", 2, 120, "<i8");
    assert_bad("a.npy", "data_dt = 1", "dtype is '<i8'");
    /* a split that leaves a side without targets stops at load, before any output file (it
     * stopped in the train stage, leaving a file marked incomplete) */
    write_h5("one.h5", 0, 100, 0.01, 0);
    assert_bad("one.h5", "data_holdout = 0.01", "leaves fewer than 2 samples");
    write_h5("one150.h5", 0, 150, 0.01, 0); /* 2 held out: no second_order target */
    assert_bad("one150.h5", "data_holdout = 0.01", "held-out part (data_holdout = 0.01) has no");
    write_h5("threes.h5", 60, 3, 0.01, 0);
    assert_bad("threes.h5", "data_drift = third_order", "no trajectory of more than 3 samples");
    write_npy("b.npy", 2, 120, "<f8");
    struct ddm_config cfg;
    config_from_text(&cfg, "");
    struct recording r;
    struct ddm_error err = {0};
    char text[256];
    snprintf(text, sizeof text, "[system]\nname = r\nvars = x, y, z\ndata = %s\ndata_dt = 1\n",
             in_dir("b.npy"));
    config_free(&cfg);
    config_from_text(&cfg, text);
    cr_assert_eq(recording_load(&cfg, &r, &err), DDM_EUSAGE);
    cr_assert_not_null(strstr(err.message, "expected (T, 3) or (B, T, 3)"), "%s", err.message);
    config_free(&cfg);
}

Test(recording, bad_csv_rows) {
    char *text = malloc(1 << 16);
    size_t used = (size_t)sprintf(text, "x,y\n");
    for (long t = 0; t < 150; t++)
        used += (size_t)sprintf(text + used, "%ld,%s\n", t, t == 77 ? "inf" : "1");
    write_text("inf.csv", text);
    assert_bad("inf.csv", "data_dt = 1", "the first in trajectory 0 at sample 77");
    write_text("half.csv", "x,y\n1,2\nnan,3\n4,5\n");
    assert_bad("half.csv", "data_dt = 1", "half.csv:3: NaN in 1 of the 2");
    write_text("header.csv", "a,b\n1,2\n");
    assert_bad("header.csv", "data_dt = 1", "header row does not match");
    write_text("cols.csv", "1,2\n3,4,5\n");
    assert_bad("cols.csv", "data_dt = 1", "cols.csv:2: 3 columns; expected 2");
    write_text("word.csv", "1,2\n3,abc\n");
    assert_bad("word.csv", "data_dt = 1", "'abc', is not a number");
    free(text);
}

/* The split: whole trajectories (evenly spread), or the last block of a single one. */
Test(recording, split_whole_trajectories_or_a_block) {
    struct recording all, fit, held;
    struct ddm_error err = {0};
    write_h5("many.h5", 10, 150, 0.01, 0);
    cr_assert_eq(load("many.h5", "", &all, &err), 0, "%s", err.message);
    cr_assert_eq(recording_split(&all, 0.2, &fit, &held, &err), 0, "%s", err.message);
    cr_assert_eq(fit.trajectories, 8);
    cr_assert_eq(held.trajectories, 2);
    /* held out: b = 4 and 9 (⌊(b+1)·0.2⌋ steps there), kept whole */
    cr_assert_eq(held.z[0], value_at(4, 0, 0));
    cr_assert_eq(held.z[held.offset[1] * 2 - 1], value_at(4, 149, 1));
    cr_assert_eq(held.z[held.offset[1] * 2], value_at(9, 0, 0));
    cr_assert_eq(fit.z[fit.offset[4] * 2], value_at(5, 0, 0));
    cr_assert_eq(held.dt, 0.01);
    recording_free(&fit);
    recording_free(&held);
    recording_free(&all);

    write_h5("one.h5", 0, 1000, 0.01, 0);
    cr_assert_eq(load("one.h5", "", &all, &err), 0, "%s", err.message);
    cr_assert_eq(recording_split(&all, 0.25, &fit, &held, &err), 0, "%s", err.message);
    cr_assert_eq(recording_samples(&fit), 750);
    cr_assert_eq(recording_samples(&held), 250);
    cr_assert_eq(held.z[0], value_at(0, 750, 0)); /* contiguous: the last quarter */
    recording_free(&fit);
    recording_free(&held);
    recording_free(&all);
}
