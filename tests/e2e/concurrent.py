"""A fork storm in share mode on 2 vCPUs exercises the protocol's concurrent
paths: processes that share pmd pages fault, unshare and exit on both vCPUs
at once (the guest copying its own tables, ptshare=0, so that the VMM shares
its pmd pages by equality and runs the seed's protocol itself) (each vCPU's own shadow counters show unshares), and every data
check in the guest still holds (the summary line, exit 0), the invariants
hold (--check) and the pool is full again at the end."""
import e2e

ARGS = "forkstorm workers=2 forks=20 pages=8 write=50 live=4"
e2e.require_umbra()

r = e2e.Run("share", ARGS, vcpus=2, check=True, ptshare=0)
e2e.expect(r.summary == e2e.expected_summary(ARGS),
           f"summary '{r.summary}', expected '{e2e.expected_summary(ARGS)}'")
e2e.expect(r.pool_full(), "the pool is not full again at the end")
for v in r.stats["vcpus"]:
    s = v["shadow"]
    unshares = s["unshare_copy"] + s["unshare_exclusive"]
    print(f"vcpu {v['vcpu']}: shared {s['share_exclusive'] + s['share_shared']}, "
          f"unshared {unshares} (by copy {s['unshare_copy']}, in place {s['unshare_exclusive']}, "
          f"copies that found themselves last {s['unshare_copy_last']}), "
          f"fills {s['fill_private'] + s['fill_shared']}")
    e2e.expect(unshares > 0, f"vCPU {v['vcpu']} unshared nothing")
    e2e.expect(s["share_exclusive"] + s["share_shared"] > 0, f"vCPU {v['vcpu']} shared nothing")
print("ok: both vCPUs shared and unshared")
