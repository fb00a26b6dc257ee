import re,collections,sys
d={}
for line in open(sys.argv[1]):
    m=re.match(r'(old|new) (r\d) \[.*\] round \d+\s+(\S+) (\S+)\s+(\d+p)\s+(\S+)\s+([\d.]+) M/s',line)
    if m: d[m.groups()[:6]]=float(m.group(7))
rows=sorted({(k[2],k[3],k[4]) for k in d})
print("mix dist procs | old lf/mutex | new lf/mutex | new lf / old lf | new lf / floor-rmw")
for mx,di,p in rows:
    o=[];n=[];g=[];fr=[]
    for r in sorted({k[1] for k in d}):
        try:
            o.append(d[('old',r,mx,di,p,'lockfree')]/d[('old',r,mx,di,p,'mutex')])
            n.append(d[('new',r,mx,di,p,'lockfree')]/d[('new',r,mx,di,p,'mutex')])
            g.append(d[('new',r,mx,di,p,'lockfree')]/d[('old',r,mx,di,p,'lockfree')])
            fr.append(d[('new',r,mx,di,p,'lockfree')]/d[('new',r,mx,di,p,'floor-rmw')])
        except KeyError: pass
    fmt=lambda a:" / ".join(f"{x:.2f}" for x in a)
    print(f"| {mx} | {di} | {p} | {fmt(o)} | {fmt(n)} | {fmt(g)} | {fmt(fr)} |")
