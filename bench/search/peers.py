#!/usr/bin/env python3
"""The peers of faceshard's search benchmark, on the same .npy files.

usage: peers.py FACES.npy QUERIES.npy [--k 10] [--single N] [--kdtree-queries N]

Prints one JSON object: {"python": ..., "peers": {name: result | {"skipped": reason}}}.
Each result: build seconds, batched and one-at-a-time queries/s, single-query latency
p50/p99 (ms), and the top-k row numbers per query ("neighbors", for recall).
  sklearn-kdtree   sklearn.neighbors.KDTree (the seed's method), one query at a time
  faiss-flat       faiss.IndexFlatL2 (exact), batched and one query at a time
  hnswlib          hnswlib, M=16, ef_construction=100, ef=64 (the issue's setting)
  hnswlib ef=E     the same graph searched with ef=E for each E in --hnsw-ef (default
                   128,256,512,1024): where hnswlib stands at faceshard's recall
"""
import argparse
import json
import os
import sys
import time

import numpy as np


def timed_single(search, queries, n):
    lat = []
    out = []
    for q in queries[:n]:
        t = time.perf_counter()
        out.append(search(q[None, :]))
        lat.append(time.perf_counter() - t)
    lat = np.array(lat)
    return {
        "single_queries": int(len(lat)),
        "single_qps": float(len(lat) / lat.sum()),
        "single_p50_ms": float(np.percentile(lat, 50) * 1e3),
        "single_p99_ms": float(np.percentile(lat, 99) * 1e3),
    }, out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("faces")
    ap.add_argument("queries")
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--single", type=int, default=200)
    ap.add_argument("--kdtree-queries", type=int, default=20)
    ap.add_argument("--skip", default="")
    ap.add_argument("--hnsw-ef", default="128,256,512,1024")
    args = ap.parse_args()
    faces = np.ascontiguousarray(np.load(args.faces), dtype=np.float32)
    queries = np.ascontiguousarray(np.load(args.queries), dtype=np.float32)
    k = args.k
    skip = set(filter(None, args.skip.split(",")))

    def sklearn_kdtree():
        from sklearn.neighbors import KDTree
        t = time.perf_counter()
        tree = KDTree(faces)
        build = time.perf_counter() - t
        single, out = timed_single(lambda q: tree.query(q, k=k)[1][0], queries, args.kdtree_queries)
        return {"build_s": build, **single, "neighbors": [o.tolist() for o in out]}

    def faiss_flat():
        import faiss
        t = time.perf_counter()
        index = faiss.IndexFlatL2(faces.shape[1])
        index.add(faces)
        build = time.perf_counter() - t
        t = time.perf_counter()
        _, neighbors = index.search(queries, k)
        batched = time.perf_counter() - t
        single, _ = timed_single(lambda q: index.search(q, k)[1][0], queries, args.single)
        return {
            "build_s": build,
            "threads": faiss.omp_get_max_threads(),
            "batched_queries": int(len(queries)),
            "batched_qps": float(len(queries) / batched),
            **single,
            "neighbors": neighbors.tolist(),
        }

    def hnswlib_index():
        import hnswlib
        t = time.perf_counter()
        index = hnswlib.Index(space="l2", dim=faces.shape[1])
        index.init_index(max_elements=len(faces), M=16, ef_construction=100, random_seed=1)
        index.add_items(faces, np.arange(len(faces)), num_threads=os.cpu_count())
        build = time.perf_counter() - t
        results = {}
        for ef in [64] + [int(e) for e in filter(None, args.hnsw_ef.split(","))]:
            index.set_ef(ef)
            t = time.perf_counter()
            neighbors, _ = index.knn_query(queries, k=k, num_threads=os.cpu_count())
            batched = time.perf_counter() - t
            index.set_num_threads(1)
            single, _ = timed_single(lambda q: index.knn_query(q, k=k)[0][0], queries, args.single)
            results["hnswlib" if ef == 64 else f"hnswlib ef={ef}"] = {
                "build_s": build,
                "M": 16,
                "ef_construction": 100,
                "ef": ef,
                "batched_queries": int(len(queries)),
                "batched_qps": float(len(queries) / batched),
                **single,
                "neighbors": neighbors.tolist(),
            }
        return results

    peers = {}
    for name, measure in (("sklearn-kdtree", sklearn_kdtree), ("faiss-flat", faiss_flat), ("hnswlib", hnswlib_index)):
        if name in skip:
            peers[name] = {"skipped": "--skip"}
            continue
        try:
            measured = measure()
            # hnswlib answers for several ef settings of one graph: one peer each.
            peers.update(measured if name == "hnswlib" else {name: measured})
        except ImportError as e:
            peers[name] = {"skipped": f"not installed ({e})"}

    json.dump({"python": sys.version.split()[0], "executable": sys.executable, "peers": peers}, sys.stdout)


if __name__ == "__main__":
    main()
