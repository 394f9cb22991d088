import io, json
from web import create_app
from web.demo import CONSTRUCTION_APPLICATION

def test_x(deployed, client):
    rt = deployed
    rt.users.create("fd", "pw", roles=["frontdesk", "admin"], groups=["综合受理窗口"])
    t = rt.users.issue_token("fd")
    h = {"Authorization": f"Bearer {t}", "Content-Type": "application/json"}
    for body in [b'{"process": "\\ud800"}', b'{"process": "onething_construction_permit", "data": {"\\ud800": 1}}', b'{"process": "onething_construction_permit", "data": {"project_name": "\\ud800"}}', b'{"process": 5}', b'{"process": ["a"]}', b'\xff\xfe', b'{"process": "onething_construction_permit", "data": {"floor_area": NaN, "investment": Infinity, "contract_duration": -Infinity}}', b'{"process": "onething_construction_permit", "data": {"floor_area": 1e400}}', b'[' * 100000 + b']' * 100000]:
        r = client.post("/api/v1/cases", data=body, headers=h); print(body[:60], r.status_code, r.content_type, r.data[:400].decode(errors="replace"))
    r = client.get("/api/v1/tasks?group=%00", headers=h); print(r.status_code, r.data[:300])
    r = client.get("/api/v1/tasks?group=" + "x"*100000, headers=h); print(r.status_code, r.data[:300])
    r = client.post("/api/v1/cases", json={"process": "onething_construction_permit", "data": dict(CONSTRUCTION_APPLICATION, project_name="x"*(1024*1024))}, headers=h); print(r.status_code, r.data[:300].decode())
    r = client.get("/api/v1/cases/-1", headers=h); print(r.status_code, r.data[:300])
    r = client.get("/api/v1/cases/2147483648", headers=h); print(r.status_code, r.data[:300])
    r = client.get("/api/v1/cases/9223372036854775808", headers=h); print(r.status_code, r.data[:300])
