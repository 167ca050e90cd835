# docs: fragment included by the top-level Makefile.am
dist_doc_DATA = docs/policy.md
