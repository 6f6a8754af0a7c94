#!/usr/bin/env python3
"""cpu_family.py - the CPU a benchmark ran on, as scripts/bench.sh records it:
/proc/cpuinfo's model name (VMs often say just "AMD EPYC"), vendor, family
and model numbers, the family name of FAMILIES below (the one table of it),
and the vector path the CPU's widest kernels take natively.

usage: cpu_family.py              prints the JSON object
       cpu_family.py --tag PATH   prints the results file tag for a run on
                                  vector path PATH (avx512, avx2, portable):
                                  the family name, with "-PATH" appended
                                  when PATH is not the CPU's native one
                                  (e.g. RCN_NO_AVX512=1 on Zen 5: zen5-avx2)
"""
import json
import platform
import sys

# (vendor, family, first model, last model, name): AMD by family and model
# range; Intel is "intel-<model>"; anything else "<vendor>-<family>-<model>".
FAMILIES = [
    ("AuthenticAMD", 23, 0x00, 0x2F, "zen"),
    ("AuthenticAMD", 23, 0x30, 0xFF, "zen2"),
    ("AuthenticAMD", 25, 0x00, 0x0F, "zen3"),
    ("AuthenticAMD", 25, 0x10, 0x1F, "zen4"),
    ("AuthenticAMD", 25, 0x20, 0x5F, "zen3"),
    ("AuthenticAMD", 25, 0x60, 0xFF, "zen4"),
    ("AuthenticAMD", 26, 0x00, 0xFF, "zen5"),
]


def cpuinfo():
    """The first processor's fields of /proc/cpuinfo."""
    info = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if not line.strip():
                    break
                k, _, v = line.partition(":")
                info[k.strip()] = v.strip()
    except OSError:
        pass
    return info


def family_name(vendor, family, model):
    for v, fam, lo, hi, name in FAMILIES:
        if v == vendor and fam == family and lo <= model <= hi:
            return name
    if vendor == "GenuineIntel":
        return f"intel-{model}"
    return f"{(vendor or 'unknown').lower()}-{family}-{model}"


def machine():
    info = cpuinfo()
    vendor = info.get("vendor_id", "")
    family = int(info.get("cpu family", "-1") or -1)
    model = int(info.get("model", "-1") or -1)
    flags = set(info.get("flags", "").split())
    native = "avx512" if "avx512f" in flags else \
        "avx2" if {"avx2", "fma"} <= flags else "portable"
    return {"cpu": info.get("model name") or platform.processor(), "vendor": vendor,
            "cpu_family": family, "cpu_model": model,
            "family_name": family_name(vendor, family, model),
            "native_vector_path": native}


def main(argv):
    m = machine()
    if len(argv) == 3 and argv[1] == "--tag":
        path = argv[2]
        print(m["family_name"] + ("" if path == m["native_vector_path"] else "-" + path))
    elif len(argv) == 1:
        print(json.dumps(m))
    else:
        sys.exit(__doc__.split("\n\n")[1])


if __name__ == "__main__":
    main(sys.argv)
