"""``make deploy-check``: the Kubernetes manifests under deploy/k8s, rendered and checked offline.

python -m devtools.deploycheck check [--kustomize PATH]   render every overlay, check everything
python -m devtools.deploycheck render                      write the generated manifests
python -m devtools.deploycheck vendor-crds OUT FILE...     CRD files -> JSON schemas (crd-schemas/)
"""
