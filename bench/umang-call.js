// The UMANG getStates call every overhead baseline makes (seed 001: the envelope and the API
// manager's headers), shared by the bare pass-through, the floor Worker and the bench's direct
// target, so they all send exactly what the gateway sends. `values` holds UMANG_BASE_URL,
// UMANG_API_TOKEN, UMANG_TKN and UMANG_USER_ID (a Worker's env, or the bench's keys).
export function getStatesCall(values, trkr) {
  const envelope = {
    tkn: values.UMANG_TKN,
    trkr: String(trkr),
    usrid: values.UMANG_USER_ID,
    srvid: "1972",
    mode: "web",
    pltfrm: "web",
    did: null,
    deptid: "379",
    subsid: "0",
    subsid2: "0",
    formtrkr: "0",
  };
  return {
    url: `${values.UMANG_BASE_URL}/getStates`,
    init: {
      method: "POST",
      headers: {
        Authorization: `Bearer ${values.UMANG_API_TOKEN}`,
        deptid: "379",
        srvid: "1972",
        subsid: "0",
        subsid2: "0",
        formtrkr: "0",
        "Content-Type": "application/json",
      },
      body: JSON.stringify(envelope),
    },
  };
}
