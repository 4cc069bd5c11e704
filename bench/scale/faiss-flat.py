#!/usr/bin/env python3
"""FAISS IndexFlatL2 (exact), batched on 2 threads, on the scale bench's files.

usage: faiss-flat.py FACES.npy QUERIES.npy [--k 10] [--threads 2]

The faces are read from the .npy in chunks of 1,000,000 rows (memory-mapped), so the
process holds the index (n x 128 float32) and one chunk. Prints one JSON object:
{"addSeconds", "queries", "seconds", "qps"}: every query in one search call.
"""
import argparse
import json
import time

import faiss
import numpy as np

CHUNK_ROWS = 1_000_000


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("faces")
    ap.add_argument("queries")
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    faiss.omp_set_num_threads(args.threads)
    faces = np.load(args.faces, mmap_mode="r")
    queries = np.ascontiguousarray(np.load(args.queries), dtype=np.float32)
    started = time.perf_counter()
    index = faiss.IndexFlatL2(faces.shape[1])
    for start in range(0, faces.shape[0], CHUNK_ROWS):
        index.add(np.ascontiguousarray(faces[start : start + CHUNK_ROWS], dtype=np.float32))
    add_seconds = time.perf_counter() - started
    started = time.perf_counter()
    index.search(queries, args.k)
    seconds = time.perf_counter() - started
    print(json.dumps({"addSeconds": add_seconds, "queries": int(queries.shape[0]), "seconds": seconds, "qps": queries.shape[0] / seconds}))


if __name__ == "__main__":
    main()
