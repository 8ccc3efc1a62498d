#!/usr/bin/env bash
# Runs the sharded creation (indexed-job.yaml), waits until every index has finished, well or
# not, then merges the shards' results (merge-job.yaml). The merge runs even when a shard
# failed: it names the rows no shard recorded, which is what to look at next. A failed shard
# is completed later by deleting the Job and applying it again: each pod resumes its own
# results file, so finished rows are left alone.
set -euo pipefail
cd "$(dirname "$0")"

kubectl apply -f indexed-job.yaml
until kubectl get job omni-dbt-shards \
    -o jsonpath='{.status.conditions[?(@.status=="True")].type}' | grep -qE 'Complete|Failed'; do
  sleep 30
done

kubectl delete job omni-dbt-merge --ignore-not-found
kubectl apply -f merge-job.yaml
kubectl wait --for=condition=complete --timeout=10m job/omni-dbt-merge
kubectl logs job/omni-dbt-merge
