/* lifecircle siting studio: what-if siting in the browser, with the Python engine's rules.
 *
 * Data: the JSON block #lc-data (written by lifecircle.maps.studio). Rules repeated here:
 *  - WGS84 -> metric: transverse Mercator (Krueger series to n^6, as PROJ's UTM);
 *  - snapping (lifecircle.geo.snap.snap_points): nearest street by GEOS point-segment distance,
 *    ties to the lowest street row, limit max_snap_m; the walk is snap distance + along the street;
 *  - searches (analysis.siting.site_node_distances): seeds cost max(c, 1e-9), Dijkstra bounded at
 *    reach_m, parallel streets at their shortest length;
 *  - demand distances (analysis.siting._distances): node demand exactly at its node; point demand
 *    through either end of its street plus its snap distance, or straight along a shared street;
 *  - gains (SitingProblem.gains_table / what_if): sequential over the sites in order, covered
 *    when the walk <= threshold; shares are of the demand inside the boundary.
 * No inline event handlers: everything is bound here with addEventListener.
 */
(function () {
  "use strict";
  var DATA = JSON.parse(document.getElementById("lc-data").textContent);
  var DEG = Math.PI / 180;
  var COLOURS = {5: "#08519c", 10: "#3182bd", 15: "#9ecae1"};
  var FALLBACK = ["#08306b", "#08519c", "#2171b5", "#4292c6", "#6baed6", "#9ecae1", "#c6dbef"];

  // ------------------------------------------------------------------ decoding
  function b64(text, Type) {
    var bin = atob(text || "");
    var n = bin.length;
    var bytes = new Uint8Array(n);
    for (var i = 0; i < n; i++) { bytes[i] = bin.charCodeAt(i); }
    return new Type(bytes.buffer);
  }

  // ---------------------------------------------------------------- projection
  function makeTM(p) {
    var f = p.f, e2 = f * (2 - f), e = Math.sqrt(e2), n = f / (2 - f);
    var n2 = n * n, n3 = n2 * n, n4 = n3 * n, n5 = n4 * n, n6 = n5 * n;
    var A = p.a / (1 + n) * (1 + n2 / 4 + n4 / 64 + n6 / 256);
    var alpha = [
      n / 2 - 2 * n2 / 3 + 5 * n3 / 16 + 41 * n4 / 180 - 127 * n5 / 288 + 7891 * n6 / 37800,
      13 * n2 / 48 - 3 * n3 / 5 + 557 * n4 / 1440 + 281 * n5 / 630 - 1983433 * n6 / 1935360,
      61 * n3 / 240 - 103 * n4 / 140 + 15061 * n5 / 26880 + 167603 * n6 / 181440,
      49561 * n4 / 161280 - 179 * n5 / 168 + 6601661 * n6 / 7257600,
      34729 * n5 / 80640 - 3418889 * n6 / 1995840,
      212378941 * n6 / 319334400];
    var beta = [
      n / 2 - 2 * n2 / 3 + 37 * n3 / 96 - n4 / 360 - 81 * n5 / 512 + 96199 * n6 / 604800,
      n2 / 48 + n3 / 15 - 437 * n4 / 1440 + 46 * n5 / 105 - 1118711 * n6 / 3870720,
      17 * n3 / 480 - 37 * n4 / 840 - 209 * n5 / 4480 + 5569 * n6 / 90720,
      4397 * n4 / 161280 - 11 * n5 / 504 - 830251 * n6 / 7257600,
      4583 * n5 / 161280 - 108847 * n6 / 3991680,
      20648693 * n6 / 638668800];
    var kA = p.k0 * A;
    function xiEta(lon, lat) {
      var lam = (lon - p.lon0) * DEG;
      var s = Math.sin(lat * DEG);
      var t = Math.sinh(Math.atanh(s) - e * Math.atanh(e * s));
      var xip = Math.atan2(t, Math.cos(lam));
      var etap = Math.atanh(Math.sin(lam) / Math.sqrt(1 + t * t));
      var xi = xip, eta = etap;
      for (var j = 1; j <= 6; j++) {
        xi += alpha[j - 1] * Math.sin(2 * j * xip) * Math.cosh(2 * j * etap);
        eta += alpha[j - 1] * Math.cos(2 * j * xip) * Math.sinh(2 * j * etap);
      }
      return [xi, eta];
    }
    var xi0 = xiEta(p.lon0, p.lat0)[0];
    function forward(lon, lat) {
      var r = xiEta(lon, lat);
      return [p.x0 + kA * r[1], p.y0 + kA * (r[0] - xi0)];
    }
    function inverse(x, y) {
      var xi = (y - p.y0) / kA + xi0, eta = (x - p.x0) / kA;
      var xip = xi, etap = eta;
      for (var j = 1; j <= 6; j++) {
        xip -= beta[j - 1] * Math.sin(2 * j * xi) * Math.cosh(2 * j * eta);
        etap -= beta[j - 1] * Math.cos(2 * j * xi) * Math.sinh(2 * j * eta);
      }
      var sh = Math.sinh(etap), c = Math.cos(xip);
      var taup = Math.sin(xip) / Math.sqrt(sh * sh + c * c);
      var lam = Math.atan2(sh, c);
      var tau = taup, e2m = 1 - e2;
      for (var i = 0; i < 5; i++) {
        var tau1 = Math.sqrt(1 + tau * tau);
        var sig = Math.sinh(e * Math.atanh(e * tau / tau1));
        var taupa = Math.sqrt(1 + sig * sig) * tau - sig * tau1;
        tau += (taup - taupa) / Math.sqrt(1 + taupa * taupa) * (1 + e2m * tau * tau) / (e2m * tau1);
      }
      return [p.lon0 + lam / DEG, Math.atan(tau) / DEG];
    }
    return {forward: forward, inverse: inverse};
  }
  var TM = makeTM(DATA.tm);

  // GCJ-02 (as lifecircle.geo.crs.wgs84_to_gcj02)
  function gcjDelta(lon, lat) {
    var x = lon - 105.0, y = lat - 35.0, sx = Math.sqrt(Math.abs(x)), P = Math.PI;
    var s6x = Math.sin(6.0 * x * P), s2x = Math.sin(2.0 * x * P);
    var dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sx;
    dlat += (20.0 * s6x + 20.0 * s2x) * 2.0 / 3.0;
    dlat += (20.0 * Math.sin(y * P) + 40.0 * Math.sin(y / 3.0 * P)) * 2.0 / 3.0;
    dlat += (160.0 * Math.sin(y / 12.0 * P) + 320 * Math.sin(y * P / 30.0)) * 2.0 / 3.0;
    var dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sx;
    dlon += (20.0 * s6x + 20.0 * s2x) * 2.0 / 3.0;
    dlon += (20.0 * Math.sin(x * P) + 40.0 * Math.sin(x / 3.0 * P)) * 2.0 / 3.0;
    dlon += (150.0 * Math.sin(x / 12.0 * P) + 300.0 * Math.sin(x / 30.0 * P)) * 2.0 / 3.0;
    var a = 6378245.0, ee = 0.00669342162296594323, rad = lat / 180.0 * P;
    var magic = 1.0 - ee * Math.pow(Math.sin(rad), 2), sq = Math.sqrt(magic);
    dlat = (dlat * 180.0) / ((a * (1.0 - ee)) / (magic * sq) * P);
    dlon = (dlon * 180.0) / (a / sq * Math.cos(rad) * P);
    return [dlon, dlat];
  }
  function toGcj(lon, lat) {
    if (!DATA.gcj02) { return [lon, lat]; }
    var d = gcjDelta(lon, lat);
    return [lon + d[0], lat + d[1]];
  }

  // ------------------------------------------------------------------- network
  var NET = DATA.network;
  var NN = NET.n_nodes, NE = NET.n_edges;
  var XY = b64(NET.node_xy, Float64Array);
  var EU = b64(NET.edge_u, Int32Array), EV = b64(NET.edge_v, Int32Array);
  var EL = b64(NET.edge_len, Float64Array);  // walked u -> v
  var ELB = EL.slice();  // walked v -> u (differs from EL in the last digit on some streets)
  (function () {
    var bi = b64(NET.back_idx, Int32Array), bl = b64(NET.back_len, Float64Array);
    for (var q = 0; q < bi.length; q++) { ELB[bi[q]] = bl[q]; }
  })();
  var VOFF = b64(NET.vert_off, Int32Array), VXY = b64(NET.vert_xy, Float64Array);
  var NLL = new Float64Array(2 * NN), VLL = new Float64Array(VXY.length);
  var EGEO = new Float64Array(NE);  // geometric length of each street
  var BBOX = new Float64Array(4 * NE);
  var i, j, k;
  for (i = 0; i < NN; i++) {
    var ll = TM.inverse(XY[2 * i], XY[2 * i + 1]);
    NLL[2 * i] = ll[0]; NLL[2 * i + 1] = ll[1];
  }
  for (i = 0; i < VXY.length; i += 2) {
    var vl = TM.inverse(VXY[i], VXY[i + 1]);
    VLL[i] = vl[0]; VLL[i + 1] = vl[1];
  }
  // vertex i of street e (0 = node u, last = node v), without allocating
  function nvOf(e) { return VOFF[e + 1] - VOFF[e] + 2; }
  function vx(e, i, nv) { return i === 0 ? XY[2 * EU[e]] : (i === nv - 1 ? XY[2 * EV[e]] : VXY[2 * (VOFF[e] + i - 1)]); }
  function vy(e, i, nv) { return i === 0 ? XY[2 * EU[e] + 1] : (i === nv - 1 ? XY[2 * EV[e] + 1] : VXY[2 * (VOFF[e] + i - 1) + 1]); }
  // coordinates of street e: node u, shape points, node v
  function edgeCoords(e) {
    var pts = [XY[2 * EU[e]], XY[2 * EU[e] + 1]];
    for (var q = VOFF[e]; q < VOFF[e + 1]; q++) { pts.push(VXY[2 * q], VXY[2 * q + 1]); }
    pts.push(XY[2 * EV[e]], XY[2 * EV[e] + 1]);
    return pts;
  }
  function edgeLatLngs(e) {
    var out = [[NLL[2 * EU[e] + 1], NLL[2 * EU[e]]]];
    for (var q = VOFF[e]; q < VOFF[e + 1]; q++) { out.push([VLL[2 * q + 1], VLL[2 * q]]); }
    out.push([NLL[2 * EV[e] + 1], NLL[2 * EV[e]]]);
    return out;
  }
  var XMIN = Infinity, YMIN = Infinity, XMAX = -Infinity, YMAX = -Infinity;
  for (i = 0; i < NE; i++) {
    var c = edgeCoords(i), glen = 0, bx0 = Infinity, by0 = Infinity, bx1 = -Infinity, by1 = -Infinity;
    for (j = 0; j < c.length; j += 2) {
      if (j > 0) { var dx = c[j] - c[j - 2], dy = c[j + 1] - c[j - 1]; glen += Math.sqrt(dx * dx + dy * dy); }
      bx0 = Math.min(bx0, c[j]); bx1 = Math.max(bx1, c[j]);
      by0 = Math.min(by0, c[j + 1]); by1 = Math.max(by1, c[j + 1]);
    }
    EGEO[i] = glen;
    BBOX[4 * i] = bx0; BBOX[4 * i + 1] = by0; BBOX[4 * i + 2] = bx1; BBOX[4 * i + 3] = by1;
    XMIN = Math.min(XMIN, bx0); YMIN = Math.min(YMIN, by0); XMAX = Math.max(XMAX, bx1); YMAX = Math.max(YMAX, by1);
  }
  // node -> incident streets (CSR)
  var INC_PTR = new Int32Array(NN + 1), INC = new Int32Array(2 * NE);
  for (i = 0; i < NE; i++) { INC_PTR[EU[i] + 1]++; if (EV[i] !== EU[i]) { INC_PTR[EV[i] + 1]++; } }
  for (i = 0; i < NN; i++) { INC_PTR[i + 1] += INC_PTR[i]; }
  (function () {
    var fill = INC_PTR.slice(0, NN);
    for (var e = 0; e < NE; e++) {
      INC[fill[EU[e]]++] = e;
      if (EV[e] !== EU[e]) { INC[fill[EV[e]]++] = e; }
    }
  })();
  // uniform grid over street bounding boxes
  var CELL = 100.0;
  var GW = Math.max(1, Math.ceil((XMAX - XMIN) / CELL) + 1), GH = Math.max(1, Math.ceil((YMAX - YMIN) / CELL) + 1);
  var GRID_PTR = new Int32Array(GW * GH + 1), GRID;
  (function () {
    var e, gx, gy;
    function span(e, cb) {
      var x0 = Math.floor((BBOX[4 * e] - XMIN) / CELL), x1 = Math.floor((BBOX[4 * e + 2] - XMIN) / CELL);
      var y0 = Math.floor((BBOX[4 * e + 1] - YMIN) / CELL), y1 = Math.floor((BBOX[4 * e + 3] - YMIN) / CELL);
      for (gy = y0; gy <= y1; gy++) { for (gx = x0; gx <= x1; gx++) { cb(gy * GW + gx); } }
    }
    for (e = 0; e < NE; e++) { span(e, function (cell) { GRID_PTR[cell + 1]++; }); }
    for (var q = 0; q < GW * GH; q++) { GRID_PTR[q + 1] += GRID_PTR[q]; }
    GRID = new Int32Array(GRID_PTR[GW * GH]);
    var fill = GRID_PTR.slice(0, GW * GH);
    for (e = 0; e < NE; e++) { (function (ee) { span(ee, function (cell) { GRID[fill[cell]++] = ee; }); })(e); }
  })();

  // ---------------------------------------------------------------- snapping (GEOS rules)
  function ptDist(px, py, ax, ay) { var dx = px - ax, dy = py - ay; return Math.sqrt(dx * dx + dy * dy); }
  function pointToSegment(px, py, ax, ay, bx, by) {
    if (ax === bx && ay === by) { return ptDist(px, py, ax, ay); }
    var len2 = (bx - ax) * (bx - ax) + (by - ay) * (by - ay);
    var r = ((px - ax) * (bx - ax) + (py - ay) * (by - ay)) / len2;
    if (r <= 0.0) { return ptDist(px, py, ax, ay); }
    if (r >= 1.0) { return ptDist(px, py, bx, by); }
    var s = ((ay - py) * (bx - ax) - (ax - px) * (by - ay)) / len2;
    return Math.abs(s) * Math.sqrt(len2);
  }
  function edgeDistance(e, px, py) {
    var nv = nvOf(e), best = Infinity;
    for (var q = 0; q < nv - 1; q++) {
      var d = pointToSegment(px, py, vx(e, q, nv), vy(e, q, nv), vx(e, q + 1, nv), vy(e, q + 1, nv));
      if (d < best) { best = d; }
    }
    return best;
  }
  // GEOS LengthIndexOfPoint: measure along the line of the nearest point
  function edgeLocate(e, px, py) {
    var c = edgeCoords(e), best = Infinity, measure = 0, start = 0;
    for (var q = 0; q + 3 < c.length; q += 2) {
      var ax = c[q], ay = c[q + 1], bx = c[q + 2], by = c[q + 3];
      var segLen = ptDist(ax, ay, bx, by);
      var d = pointToSegment(px, py, ax, ay, bx, by);
      var m;
      if (px === ax && py === ay) { m = start; }
      else if (px === bx && py === by) { m = start + segLen; }
      else {
        var dx = bx - ax, dy = by - ay, len2 = dx * dx + dy * dy;
        var r = len2 > 0 ? ((px - ax) * dx + (py - ay) * dy) / len2 : 0;
        m = r <= 0 ? start : (r <= 1 ? start + r * segLen : start + segLen);
      }
      if (d < best) { best = d; measure = m; }
      start += segLen;
    }
    return EGEO[e] > 0 ? measure / EGEO[e] : 0;
  }
  var STAMP = new Int32Array(NE), STAMP_ID = 0;
  function nearestEdge(px, py) {
    var r = CELL, best = Infinity, bestE = -1;
    while (true) {
      STAMP_ID++;
      var gx0 = Math.max(0, Math.floor((px - r - XMIN) / CELL)), gx1 = Math.min(GW - 1, Math.floor((px + r - XMIN) / CELL));
      var gy0 = Math.max(0, Math.floor((py - r - YMIN) / CELL)), gy1 = Math.min(GH - 1, Math.floor((py + r - YMIN) / CELL));
      for (var gy = gy0; gy <= gy1; gy++) {
        for (var gx = gx0; gx <= gx1; gx++) {
          var cell = gy * GW + gx;
          for (var q = GRID_PTR[cell]; q < GRID_PTR[cell + 1]; q++) {
            var e = GRID[q];
            if (STAMP[e] === STAMP_ID) { continue; }
            STAMP[e] = STAMP_ID;
            var d = edgeDistance(e, px, py);
            if (d < best || (d === best && e < bestE)) { best = d; bestE = e; }
          }
        }
      }
      var covers = px - r <= XMIN && px + r >= XMAX && py - r <= YMIN && py + r >= YMAX;
      if ((bestE >= 0 && best <= r) || covers) { return {edge: bestE, dist: best}; }
      r *= 2;
    }
  }
  function snapPoint(lon, lat) {
    var p = TM.forward(lon, lat);
    var ne = nearestEdge(p[0], p[1]);
    var out = {x: p[0], y: p[1], edge: ne.edge, snap_m: ne.dist, ok: ne.edge >= 0 && ne.dist <= DATA.max_snap_m};
    if (!out.ok) { return out; }
    var e = ne.edge, frac = edgeLocate(e, p[0], p[1]);
    out.to_u = frac * EL[e];
    out.to_v = (1.0 - frac) * EL[e];
    out.u = EU[e]; out.v = EV[e];
    out.frac = frac;
    out.group = EGROUP[e];
    out.pos = EU[e] <= EV[e] ? out.to_u : out.to_v;
    var sp = pointAt(e, frac * EGEO[e]);
    out.slon = sp[0]; out.slat = sp[1];
    return out;
  }
  // lon/lat of the point at a geometric measure along street e
  function pointAt(e, m) {
    var c = edgeCoords(e), start = 0;
    for (var q = 0; q + 3 < c.length; q += 2) {
      var seg = ptDist(c[q], c[q + 1], c[q + 2], c[q + 3]);
      if (m <= start + seg || q + 4 >= c.length) {
        var t = seg > 0 ? Math.min(1, Math.max(0, (m - start) / seg)) : 0;
        return TM.inverse(c[q] + t * (c[q + 2] - c[q]), c[q + 1] + t * (c[q + 3] - c[q + 1]));
      }
      start += seg;
    }
    return TM.inverse(c[0], c[1]);
  }

  // ------------------------------------------------------------------- demand
  var DEM = DATA.demand;
  var ND = DEM.n;
  var DU = b64(DEM.u, Int32Array), DV = b64(DEM.v, Int32Array);
  var DTU = b64(DEM.to_u, Float64Array), DTV = b64(DEM.to_v, Float64Array), DSNAP = b64(DEM.snap, Float64Array);
  var DGROUP = b64(DEM.group, Int32Array), EGROUP = b64(DEM.edge_group, Int32Array);
  var INSIDE = b64(DEM.inside, Uint8Array), BEFORE = b64(DEM.before, Float64Array);
  var POP = DEM.pop ? b64(DEM.pop, Float64Array) : new Float64Array(ND).fill(1.0);
  var POP60 = DEM.pop60 ? b64(DEM.pop60, Float64Array) : POP;
  var AT_NODES = DEM.at_nodes;
  // node -> demand rows reached through it (as end u or end v)
  var NDP = new Int32Array(NN + 1), NDR, NDSIDE;
  (function () {
    var r;
    for (r = 0; r < ND; r++) {
      if (DU[r] >= 0) { NDP[DU[r] + 1]++; if (!AT_NODES && DV[r] !== DU[r]) { NDP[DV[r] + 1]++; } }
    }
    for (var q = 0; q < NN; q++) { NDP[q + 1] += NDP[q]; }
    NDR = new Int32Array(NDP[NN]); NDSIDE = new Uint8Array(NDP[NN]);
    var fill = NDP.slice(0, NN);
    for (r = 0; r < ND; r++) {
      if (DU[r] < 0) { continue; }
      NDR[fill[DU[r]]] = r; NDSIDE[fill[DU[r]]++] = 0;
      if (!AT_NODES && DV[r] !== DU[r]) { NDR[fill[DV[r]]] = r; NDSIDE[fill[DV[r]]++] = 1; }
    }
  })();
  // same-street groups -> demand rows
  var GROUP_ROWS = {};
  for (i = 0; i < ND; i++) {
    if (DGROUP[i] >= 0) { (GROUP_ROWS[DGROUP[i]] = GROUP_ROWS[DGROUP[i]] || []).push(i); }
  }
  var TOTAL_IN = {pop: 0, pop60: 0, nodes: 0};
  for (i = 0; i < ND; i++) {
    if (INSIDE[i]) { TOTAL_IN.pop += POP[i]; TOTAL_IN.pop60 += POP60[i]; TOTAL_IN.nodes += 1; }
  }

  // -------------------------------------------------------------- bounded Dijkstra
  var DIST = new Float64Array(NN).fill(Infinity);
  var TOUCHED = new Int32Array(NN), NT = 0;
  var HK = new Float64Array(1024), HV = new Int32Array(1024), HN = 0;
  function heapPush(key, val) {
    if (HN === HK.length) {
      var k2 = new Float64Array(2 * HN), v2 = new Int32Array(2 * HN);
      k2.set(HK); v2.set(HV); HK = k2; HV = v2;
    }
    var q = HN++;
    while (q > 0) {
      var parent = (q - 1) >> 1;
      if (HK[parent] <= key) { break; }
      HK[q] = HK[parent]; HV[q] = HV[parent]; q = parent;
    }
    HK[q] = key; HV[q] = val;
  }
  function heapPop() {  // returns index of the top in HK/HV slot 0 semantics: caller reads TOPK/TOPV
    TOPK = HK[0]; TOPV = HV[0];
    var lastK = HK[--HN], lastV = HV[HN], q = 0;
    while (true) {
      var l = 2 * q + 1;
      if (l >= HN) { break; }
      var r = l + 1, m = (r < HN && HK[r] < HK[l]) ? r : l;
      if (HK[m] >= lastK) { break; }
      HK[q] = HK[m]; HV[q] = HV[m]; q = m;
    }
    HK[q] = lastK; HV[q] = lastV;
  }
  var TOPK = 0, TOPV = 0;
  function setSeed(node, cost, limit) {
    cost = Math.max(cost, 1e-9);
    if (cost > limit || !(cost < DIST[node])) { return; }
    if (DIST[node] === Infinity) { TOUCHED[NT++] = node; }
    DIST[node] = cost;
    heapPush(cost, node);
  }
  // search from a seed {u, v, cu, cv}; returns reached nodes and their walks (<= limit)
  function search(seed, limit) {
    NT = 0; HN = 0;
    setSeed(seed.u, seed.cu, limit);
    setSeed(seed.v, seed.cv, limit);
    while (HN > 0) {
      heapPop();
      var d = TOPK, x = TOPV;
      if (d > DIST[x]) { continue; }
      for (var q = INC_PTR[x]; q < INC_PTR[x + 1]; q++) {
        var e = INC[q], fw = EU[e] === x, y = fw ? EV[e] : EU[e];
        var nd = d + Math.max(fw ? EL[e] : ELB[e], 1e-9);
        if (nd <= limit && nd < DIST[y]) {
          if (DIST[y] === Infinity) { TOUCHED[NT++] = y; }
          DIST[y] = nd;
          heapPush(nd, y);
        }
      }
    }
    var nodes = new Int32Array(NT), dist = new Float64Array(NT);
    for (var t = 0; t < NT; t++) { nodes[t] = TOUCHED[t]; dist[t] = DIST[TOUCHED[t]]; DIST[TOUCHED[t]] = Infinity; }
    return {nodes: nodes, dist: dist};
  }
  var RD = new Float64Array(ND).fill(Infinity), RTOUCH = new Int32Array(ND);
  // walks from a seed to the demand rows it reaches (<= limit), as the engine's sparse column
  function demandWalks(seed, reached, limit) {
    var nr = 0, t, q, r, d;
    function offer(row, val) {
      if (RD[row] === Infinity) { RTOUCH[nr++] = row; }
      if (val < RD[row]) { RD[row] = val; }
    }
    for (t = 0; t < reached.nodes.length; t++) {
      var x = reached.nodes[t], dx = reached.dist[t];
      for (q = NDP[x]; q < NDP[x + 1]; q++) {
        r = NDR[q];
        if (AT_NODES) { offer(r, dx); }
        else { d = dx + (NDSIDE[q] === 0 ? DTU[r] : DTV[r]) + DSNAP[r]; if (d <= limit) { offer(r, d); } }
      }
    }
    if (!AT_NODES && seed.group >= 0 && GROUP_ROWS[seed.group]) {
      var rows = GROUP_ROWS[seed.group];
      for (q = 0; q < rows.length; q++) {
        r = rows[q];
        var pd = DU[r] <= DV[r] ? DTU[r] : DTV[r];
        d = Math.max(Math.abs(seed.pos - pd) + seed.snap + DSNAP[r], 1e-9);
        if (d <= limit) { offer(r, d); }
      }
    }
    var out = new Int32Array(nr), dist = new Float64Array(nr);
    for (t = 0; t < nr; t++) { out[t] = RTOUCH[t]; dist[t] = RD[RTOUCH[t]]; RD[RTOUCH[t]] = Infinity; }
    return {rows: out, dist: dist};
  }

  // ------------------------------------------------------------------- state
  var S = {
    profile: 0, thr: DATA.minutes.length - 1, sites: [], nextId: 1, last_ms: null, paint_ms: null,
    message: "", candCache: null, lastRecommend: null,
  };
  function profile() { return DATA.profiles[S.profile]; }
  function minKey(m) { return String(Number(m)); }

  function makeSite(lon, lat, kind, name) {
    var sn = snapPoint(lon, lat);
    if (!sn.ok) { return {ok: false, snap: sn}; }
    var seed = {u: sn.u, v: sn.v, cu: sn.snap_m + sn.to_u, cv: sn.snap_m + sn.to_v, group: sn.group, pos: sn.pos, snap: sn.snap_m};
    return {ok: true, site: finishSite(seed, lon, lat, kind, name, sn)};
  }
  function finishSite(seed, lon, lat, kind, name, sn) {
    var reached = search(seed, DATA.reach_m);
    var walks = demandWalks(seed, reached, DATA.reach_m);
    var id = S.nextId++;
    return {
      id: id, kind: kind, name: name || ("新增站点" + id), lon: lon, lat: lat, seed: seed, snapInfo: sn,
      snap_m: sn ? sn.snap_m : 0, nodes: reached.nodes, nodeDist: reached.dist, rows: walks.rows, dist: walks.dist,
    };
  }

  function baseCovered(t) {
    var cov = new Uint8Array(ND);
    for (var r = 0; r < ND; r++) { if (BEFORE[r] <= t) { cov[r] = 1; } }
    return cov;
  }
  function sums(cov) {
    var s = {nodes: 0, nodes_inside: 0, pop: 0, pop60: 0, pop_inside: 0, pop60_inside: 0};
    for (var r = 0; r < ND; r++) {
      if (!cov[r]) { continue; }
      s.nodes++; s.pop += POP[r]; s.pop60 += POP60[r];
      if (INSIDE[r]) { s.nodes_inside++; s.pop_inside += POP[r]; s.pop60_inside += POP60[r]; }
    }
    s.share_pop = TOTAL_IN.pop ? s.pop_inside / TOTAL_IN.pop : null;
    s.share_pop60 = TOTAL_IN.pop60 ? s.pop60_inside / TOTAL_IN.pop60 : null;
    s.share_nodes = TOTAL_IN.nodes ? s.nodes_inside / TOTAL_IN.nodes : null;
    return s;
  }
  // sequential gains of the sites in order, and coverage before/after, per threshold
  function evaluate() {
    var prof = profile(), gains = {}, coverage = {};
    S.sites.forEach(function (s) { s.gains = {}; });
    DATA.minutes.forEach(function (m, k) {
      var t = prof.metres[k], key = minKey(m), cov = baseCovered(t);
      var before = sums(cov);
      S.sites.forEach(function (s) {
        var g = {minutes: m, metres: t, nodes: 0, nodes_inside: 0, pop: 0, pop60: 0, pop_inside: 0, pop60_inside: 0};
        for (var q = 0; q < s.rows.length; q++) {
          var r = s.rows[q];
          if (s.dist[q] <= t && !cov[r]) {
            cov[r] = 1; g.nodes++; g.pop += POP[r]; g.pop60 += POP60[r];
            if (INSIDE[r]) { g.nodes_inside++; g.pop_inside += POP[r]; g.pop60_inside += POP60[r]; }
          }
        }
        g.pp = TOTAL_IN.pop ? 100 * g.pop_inside / TOTAL_IN.pop : null;
        g.pp60 = TOTAL_IN.pop60 ? 100 * g.pop60_inside / TOTAL_IN.pop60 : null;
        s.gains[key] = g;
      });
      coverage[key] = {minutes: m, metres: t, before: before, after: sums(cov)};
      gains[key] = coverage[key];
    });
    S.coverage = coverage;
    return coverage;
  }

  // ------------------------------------------------------------------ drawing
  function colour(k) {
    var m = DATA.minutes[k];
    if (COLOURS[m]) { return COLOURS[m]; }
    var step = Math.max(1, Math.floor(FALLBACK.length / DATA.minutes.length));
    return FALLBACK[Math.min(k * step, FALLBACK.length - 1)];
  }
  // [lat, lng] at geometric measure m along street e: linear between the street's own
  // vertices (already in lon/lat), no projection needed
  function vertexLL(e, idx, nv) {
    if (idx === 0) { return [NLL[2 * EU[e] + 1], NLL[2 * EU[e]]]; }
    if (idx === nv - 1) { return [NLL[2 * EV[e] + 1], NLL[2 * EV[e]]]; }
    var vi = VOFF[e] + idx - 1;
    return [VLL[2 * vi + 1], VLL[2 * vi]];
  }
  // a piece [a, b] (walking metres from u) of street e as lat/lngs
  function piece(e, a, b) {
    var scale = EL[e] > 0 ? EGEO[e] / EL[e] : 0, ga = a * scale, gb = b * scale;
    var nv = nvOf(e), out = [], start = 0;
    if (nv === 2 && ga <= 0 && gb >= EGEO[e]) { return [vertexLL(e, 0, 2), vertexLL(e, 1, 2)]; }
    for (var q = 0; q < nv - 1; q++) {
      var seg = ptDist(vx(e, q, nv), vy(e, q, nv), vx(e, q + 1, nv), vy(e, q + 1, nv)), end = start + seg;
      var last = q === nv - 2;
      if (end >= ga || last) {
        var p0 = vertexLL(e, q, nv), p1 = vertexLL(e, q + 1, nv);
        var fa = seg > 0 ? Math.max(0, Math.min(1, (ga - start) / seg)) : 0;
        var fb = seg > 0 ? Math.max(0, Math.min(1, (gb - start) / seg)) : 1;
        if (!out.length) { out.push([p0[0] + fa * (p1[0] - p0[0]), p0[1] + fa * (p1[1] - p0[1])]); }
        if (gb <= end || last) {
          out.push([p0[0] + fb * (p1[0] - p0[0]), p0[1] + fb * (p1[1] - p0[1])]);
          break;
        }
        out.push(p1);
      }
      start = end;
    }
    return out;
  }
  var NODE_D = new Float64Array(NN).fill(Infinity), ESTAMP = new Int32Array(NE), ESTAMP_ID = 0;
  function reachedPieces(site, t, out) {
    var q, e;
    for (q = 0; q < site.nodes.length; q++) { NODE_D[site.nodes[q]] = site.nodeDist[q]; }
    ESTAMP_ID++;
    function doEdge(e) {
      if (ESTAMP[e] === ESTAMP_ID) { return; }
      ESTAMP[e] = ESTAMP_ID;
      var len = EL[e], iv = [], du = NODE_D[EU[e]], dv = NODE_D[EV[e]];
      if (du <= t) { iv.push([0, Math.min(len, t - du)]); }
      if (dv <= t) { iv.push([Math.max(0, len - (t - dv)), len]); }
      if (site.snapInfo && site.snapInfo.edge === e && t >= site.snap_m) {
        var r = t - site.snap_m, p = site.snapInfo.to_u;
        iv.push([Math.max(0, p - r), Math.min(len, p + r)]);
      }
      if (!iv.length) { return; }
      iv.sort(function (a, b) { return a[0] - b[0]; });
      var cur = iv[0].slice();
      for (var z = 1; z <= iv.length; z++) {
        if (z < iv.length && iv[z][0] <= cur[1]) { cur[1] = Math.max(cur[1], iv[z][1]); continue; }
        if (cur[1] > cur[0]) { out.push(piece(e, cur[0], cur[1])); }
        if (z < iv.length) { cur = iv[z].slice(); }
      }
    }
    for (q = 0; q < site.nodes.length; q++) {
      var x = site.nodes[q];
      if (site.nodeDist[q] > t) { continue; }
      for (var w = INC_PTR[x]; w < INC_PTR[x + 1]; w++) { doEdge(INC[w]); }
    }
    if (site.snapInfo && site.snapInfo.edge >= 0) { e = site.snapInfo.edge; doEdge(e); }
    for (q = 0; q < site.nodes.length; q++) { NODE_D[site.nodes[q]] = Infinity; }
  }

  // ------------------------------------------------------------------ map
  var map = L.map("lc-map", {preferCanvas: true, zoomControl: true});
  var netPane = map.createPane("lc-net"); netPane.style.zIndex = 350;
  var markerPane = map.createPane("lc-reach"); markerPane.style.zIndex = 430;
  var netRenderer = L.canvas({pane: "lc-net"});
  if (DATA.basemap) {
    L.tileLayer(DATA.basemap.url, {attribution: escapeHtml(DATA.basemap.attribution), maxZoom: 19}).addTo(map);
  }
  L.control.scale({imperial: false, metric: true}).addTo(map);
  function escapeHtml(text) {
    return String(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;");
  }
  var streets = [];
  for (i = 0; i < NE; i++) { streets.push(edgeLatLngs(i)); }
  var netLayer = L.polyline(streets, {renderer: netRenderer, color: "#9e9e9e", weight: 1, opacity: 0.7, interactive: false}).addTo(map);
  var overlays = {};
  overlays["步行路网"] = netLayer;
  if (DATA.boundary && DATA.boundary.length) {
    var bl = L.polygon(DATA.boundary, {renderer: netRenderer, color: "#222222", weight: 2.5, dashArray: "8 5", fill: false, interactive: false}).addTo(map);
    overlays[escapeHtml("研究范围 " + (DATA.boundary_name || ""))] = bl;
  }
  var facLayer = L.layerGroup().addTo(map);
  DATA.existing.forEach(function (f) {
    var icon = L.divIcon({html: DATA.category_icon, className: "lc-fac", iconSize: [20, 20], iconAnchor: [10, 10]});
    var mk = L.marker([f.lat, f.lon], {icon: icon, keyboard: false, interactive: true, bubblingMouseEvents: false});
    var tip = document.createElement("div");
    tip.textContent = (f.name || DATA.category_label) + (f.type ? " (" + f.type + ")" : "");
    mk.bindTooltip(tip);
    mk.on("click", function (ev) { L.DomEvent.stopPropagation(ev); });
    facLayer.addLayer(mk);
  });
  overlays[escapeHtml("现有" + DATA.category_label + " (" + DATA.existing.length + ")")] = facLayer;
  var CAND = DATA.candidates, NC = CAND.n;
  var CU = b64(CAND.u, Int32Array), CV = b64(CAND.v, Int32Array);
  var CCU = b64(CAND.cu, Float64Array), CCV = b64(CAND.cv, Float64Array);
  var CLON = b64(CAND.lon, Float64Array), CLAT = b64(CAND.lat, Float64Array);
  var candLayer = L.layerGroup();
  for (i = 0; i < NC; i++) {
    candLayer.addLayer(L.circleMarker([CLAT[i], CLON[i]], {renderer: netRenderer, radius: 2, color: "#6d4c41", weight: 1, fillOpacity: 0.6, interactive: false}));
  }
  if (NC) { overlays["候选点 (" + NC + ")"] = candLayer; }
  L.control.layers(null, overlays, {collapsed: true, position: "topleft"}).addTo(map);
  var b = DATA.boundary && DATA.boundary.length ? L.polygon(DATA.boundary).getBounds() : netLayer.getBounds();
  map.fitBounds(b, {padding: [10, 10]});

  function starIcon(label, colour) {
    var pts = [], c = 14, ro = 13, ri = 6.5;
    for (var q = 0; q < 10; q++) {
      var r = q % 2 === 0 ? ro : ri, a = -Math.PI / 2 + q * Math.PI / 5;
      pts.push((c + r * Math.cos(a)).toFixed(1) + "," + (c + r * Math.sin(a)).toFixed(1));
    }
    var svg = '<svg xmlns="http://www.w3.org/2000/svg" width="28" height="28" viewBox="0 0 28 28">' +
      '<polygon points="' + pts.join(" ") + '" fill="' + colour + '" stroke="#5d4037" stroke-width="1.5"/>' +
      '<text x="14" y="18" text-anchor="middle" font-size="9" font-weight="bold" fill="#3e2723">' + escapeHtml(label) + "</text></svg>";
    return L.divIcon({html: svg, className: "lc-star", iconSize: [28, 28], iconAnchor: [14, 14]});
  }
  // one canvas per threshold (closer thresholds on top); each site keeps its own layers, so a
  // click draws only the new site's streets
  var reachRenderers = DATA.minutes.map(function (m, k) {
    var pane = map.createPane("lc-reach-" + k);
    pane.style.zIndex = 420 + (DATA.minutes.length - k);
    return L.canvas({pane: "lc-reach-" + k});
  });
  var markerRenderer = L.canvas({pane: "lc-reach"});
  // renderers join the map at load, so the first click does not pay for their canvases
  reachRenderers.concat([markerRenderer]).forEach(function (r) {
    L.polyline([], {renderer: r, interactive: false}).addTo(map);
  });
  var onMap = [];
  function siteLayers(s, n, prof) {
    s.layers = s.layers || {};
    var out = [];
    for (var k = DATA.minutes.length - 1; k >= 0; k--) {
      if (S.thrShow !== undefined && S.thrShow >= 0 && S.thrShow !== k) { continue; }
      var key = prof.name + ":" + k;
      if (!s.layers[key]) {
        var pieces = [];
        reachedPieces(s, prof.metres[k], pieces);
        var w = 3 + 2 * (DATA.minutes.length - 1 - k) / Math.max(1, DATA.minutes.length - 1);
        s.layers[key] = L.polyline(pieces, {renderer: reachRenderers[k], color: colour(k), weight: w, opacity: 0.9, interactive: false});
      }
      out.push(s.layers[key]);
    }
    var label = String(n + 1);
    if (!s.marker) {
      var mk = s.marker = L.marker([s.lat, s.lon], {draggable: true, bubblingMouseEvents: false, title: s.name, zIndexOffset: 1000,
        icon: starIcon(label, s.kind === "recommended" ? "#ffd700" : "#ffb300")});
      mk.on("click", function (ev) { L.DomEvent.stopPropagation(ev); removeSite(s.id); });
      mk.on("dragend", function () { var p = mk.getLatLng(); moveSite(s.id, p.lng, p.lat); });
      s.label = label;
      if (s.snapInfo) {
        s.snapLine = L.polyline([[s.lat, s.lon], [s.snapInfo.slat, s.snapInfo.slon]], {renderer: markerRenderer, color: "#5d4037", weight: 1.5, dashArray: "3 3", interactive: false});
      }
    } else if (s.label !== label) {
      s.marker.setIcon(starIcon(label, s.kind === "recommended" ? "#ffd700" : "#ffb300"));
      s.label = label;
    }
    out.push(s.marker);
    if (s.snapLine) { out.push(s.snapLine); }
    return out;
  }
  function redraw() {
    var prof = profile(), wanted = [];
    S.sites.forEach(function (s, n) { Array.prototype.push.apply(wanted, siteLayers(s, n, prof)); });
    var keep = new Set(wanted);
    onMap.forEach(function (l) { if (!keep.has(l)) { map.removeLayer(l); } });
    wanted.forEach(function (l) { if (!map.hasLayer(l)) { l.addTo(map); } });
    onMap = wanted;
  }

  // ------------------------------------------------------------------ panel
  var $ = function (id) { return document.getElementById(id); };
  var BASIS = DEM.basis, UNIT_ROWS = AT_NODES ? "路网节点" : "需求点";
  function fmt(x, d) { return x === null || x === undefined || !isFinite(x) ? "—" : Number(x).toFixed(d === undefined ? 0 : d); }
  function pct(x) { return x === null || x === undefined ? "—" : (100 * x).toFixed(1) + "%"; }
  function mainShare(s) { return BASIS === "nodes" ? s.share_nodes : s.share_pop; }
  function el(tag, text, cls) { var e = document.createElement(tag); if (text !== undefined) { e.textContent = text; } if (cls) { e.className = cls; } return e; }
  function gainText(g) {
    var parts = [];
    if (BASIS !== "nodes") {
      parts.push("人口 +" + fmt(g.pop));
      parts.push("60岁以上 " + (BASIS === "pop60" ? "+" + fmt(g.pop60) : "—"));
    }
    parts.push(UNIT_ROWS + " +" + g.nodes);
    return parts.join(", ");
  }
  function renderPanel() {
    var prof = profile(), cov = S.coverage;
    var thead = $("lc-table").tHead, tbody = $("lc-table").tBodies[0];
    thead.textContent = ""; tbody.textContent = "";
    var h = el("tr");
    var share = BASIS === "nodes" ? "路网节点覆盖率" : "人口覆盖率";
    ["分钟", "米", share + " 现状 → 新增后", "新增覆盖"].forEach(function (t) { h.appendChild(el("th", t)); });
    thead.appendChild(h);
    DATA.minutes.forEach(function (m, k) {
      var c = cov[minKey(m)], tr = el("tr");
      tr.setAttribute("data-minutes", minKey(m));
      if (k === S.thr) { tr.className = "lc-current"; }
      var g = {nodes: c.after.nodes - c.before.nodes, pop: c.after.pop - c.before.pop, pop60: c.after.pop60 - c.before.pop60};
      var shareText = pct(mainShare(c.before)) + " → " + pct(mainShare(c.after));
      if (BASIS === "pop60") { shareText += " (60岁以上 " + pct(c.before.share_pop60) + " → " + pct(c.after.share_pop60) + ")"; }
      [minKey(m), fmt(prof.metres[k]), shareText, gainText(g)].forEach(function (t, z) {
        var td = el("td", t); td.className = ["lc-min", "lc-m", "lc-share", "lc-gain"][z]; tr.appendChild(td);
      });
      tbody.appendChild(tr);
    });
    var list = $("lc-sites"); list.textContent = "";
    var key = minKey(DATA.minutes[S.thr]);
    S.sites.forEach(function (s) {
      var li = el("li");
      li.setAttribute("data-site", String(s.id));
      li.appendChild(el("span", s.name + " (吸附 " + fmt(s.snap_m, 1) + " 米): " + key + " 分钟 " + gainText(s.gains[key])));
      var btn = el("button", "删除"); btn.type = "button";
      btn.addEventListener("click", function () { removeSite(s.id); });
      li.appendChild(btn);
      list.appendChild(li);
    });
    $("lc-nsites").textContent = "(" + S.sites.length + " 处)";
    var msg = $("lc-msg"); msg.textContent = S.message || ""; msg.className = "lc-msg" + (S.messageOk ? " lc-ok" : "");
  }
  function refresh() {
    var t0 = performance.now();
    evaluate();
    var t1 = performance.now();
    redraw();
    var t2 = performance.now();
    renderPanel();
    S.timing = {evaluate: t1 - t0, draw: t2 - t1, panel: performance.now() - t2};
  }

  // ------------------------------------------------------------------ API
  function publicSite(s) {
    var g = toGcj(s.lon, s.lat);
    return {id: s.id, name: s.name, kind: s.kind, lon: s.lon, lat: s.lat, lon_gcj02: g[0], lat_gcj02: g[1],
      snap_m: s.snap_m, gains: s.gains, candidate: s.candidate === undefined ? null : s.candidate};
  }
  function timed(fn) {
    var t0 = performance.now();
    var out = fn();
    S.last_ms = performance.now() - t0;
    requestAnimationFrame(function () { S.paint_ms = performance.now() - t0; });
    return out;
  }
  function addSite(lon, lat) {
    return timed(function () {
      var tm0 = performance.now();
      var made = makeSite(Number(lon), Number(lat), "proposed");
      S.search_ms = performance.now() - tm0;
      if (!made.ok) {
        var d = made.snap.snap_m;
        S.message = "该点距最近的步行道路 " + fmt(d) + " 米, 超过 " + fmt(DATA.max_snap_m) + " 米吸附上限, 未添加站点";
        S.messageOk = false;
        renderPanel();
        return {ok: false, snap_m: d, message: S.message};
      }
      S.sites.push(made.site);
      S.message = made.site.name + " 已添加 (吸附到道路 " + fmt(made.site.snap_m, 1) + " 米)";
      S.messageOk = true;
      refresh();
      return {ok: true, id: made.site.id, snap_m: made.site.snap_m, gains: made.site.gains, coverage: S.coverage};
    });
  }
  function indexOf(id) { for (var q = 0; q < S.sites.length; q++) { if (S.sites[q].id === id) { return q; } } return -1; }
  function removeSite(id) {
    return timed(function () {
      var q = indexOf(Number(id));
      if (q < 0) { return {ok: false}; }
      var s = S.sites.splice(q, 1)[0];
      S.message = s.name + " 已删除"; S.messageOk = true;
      refresh();
      return {ok: true, coverage: S.coverage};
    });
  }
  function moveSite(id, lon, lat) {
    return timed(function () {
      var q = indexOf(Number(id));
      if (q < 0) { return {ok: false}; }
      var made = makeSite(Number(lon), Number(lat), S.sites[q].kind, S.sites[q].name);
      if (!made.ok) {
        S.message = "移动后距最近的步行道路 " + fmt(made.snap.snap_m) + " 米, 超过吸附上限, 保留原位置"; S.messageOk = false;
        redraw(); renderPanel();
        return {ok: false, snap_m: made.snap.snap_m};
      }
      made.site.id = S.sites[q].id; S.nextId--;
      S.sites[q] = made.site;
      S.message = made.site.name + " 已移动"; S.messageOk = true;
      refresh();
      return {ok: true, snap_m: made.site.snap_m, gains: made.site.gains, coverage: S.coverage};
    });
  }
  function clearSites() { S.sites = []; S.message = ""; refresh(); return {ok: true}; }
  function candidateSets() {
    if (S.candCache) { return S.candCache; }
    var sets = [];
    for (var c = 0; c < NC; c++) {
      var seed = {u: CU[c], v: CV[c], cu: CCU[c], cv: CCV[c], group: -1, pos: 0, snap: 0};
      var reached = search(seed, DATA.reach_m);
      var w = demandWalks(seed, reached, DATA.reach_m);
      sets.push({seed: seed, reached: reached, rows: w.rows, dist: w.dist});
    }
    S.candCache = sets;
    return sets;
  }
  // greedy + 1-swap descent for the covered weight at the current threshold
  function recommend(n) {
    n = Math.max(1, Math.min(50, Math.floor(Number(n) || 0)));
    var t0 = performance.now();
    var sets = candidateSets(), t = profile().metres[S.thr];
    var W = BASIS === "pop60" ? POP60 : POP;
    var cnt = new Int32Array(ND), r, q, c;
    var base = baseCovered(t);
    S.sites.forEach(function (s) { for (var z = 0; z < s.rows.length; z++) { if (s.dist[z] <= t) { base[s.rows[z]] = 1; } } });
    var cov = sets.map(function (s) { var rows = []; for (var z = 0; z < s.rows.length; z++) { if (s.dist[z] <= t) { rows.push(s.rows[z]); } } return Int32Array.from(rows); });
    function gainOf(c) { var g = 0, rows = cov[c]; for (var z = 0; z < rows.length; z++) { var rr = rows[z]; if (!base[rr] && cnt[rr] === 0) { g += W[rr]; } } return g; }
    var chosen = [], isChosen = new Uint8Array(NC);
    for (var k = 0; k < n && k < NC; k++) {
      var best = -1, bestG = 0;
      for (c = 0; c < NC; c++) { if (!isChosen[c]) { var g = gainOf(c); if (g > bestG + 1e-12) { bestG = g; best = c; } } }
      if (best < 0) { break; }
      chosen.push(best); isChosen[best] = 1;
      for (q = 0; q < cov[best].length; q++) { cnt[cov[best][q]]++; }
    }
    // swaps: replace a chosen site by a candidate while the covered weight grows
    var mark = new Uint8Array(ND), swaps = 0, improved = true;
    while (improved && swaps < 1000) {
      improved = false;
      for (var a = 0; a < chosen.length && !improved; a++) {
        var out = chosen[a], loss = 0;
        for (q = 0; q < cov[out].length; q++) { r = cov[out][q]; mark[r] = 1; if (!base[r] && cnt[r] === 1) { loss += W[r]; } }
        var bestC = -1, bestDelta = 1e-9 * Math.max(1, loss);
        for (c = 0; c < NC; c++) {
          if (isChosen[c]) { continue; }
          var gain = 0, rows = cov[c];
          for (q = 0; q < rows.length; q++) { r = rows[q]; if (!base[r] && (cnt[r] === 0 || (cnt[r] === 1 && mark[r]))) { gain += W[r]; } }
          if (gain - loss > bestDelta) { bestDelta = gain - loss; bestC = c; }
        }
        for (q = 0; q < cov[out].length; q++) { mark[cov[out][q]] = 0; }
        if (bestC >= 0) {
          for (q = 0; q < cov[out].length; q++) { cnt[cov[out][q]]--; }
          for (q = 0; q < cov[bestC].length; q++) { cnt[cov[bestC][q]]++; }
          isChosen[out] = 0; isChosen[bestC] = 1; chosen[a] = bestC; swaps++; improved = true;
        }
      }
    }
    var objBefore = 0, objAfter = 0;
    for (r = 0; r < ND; r++) { if (base[r]) { objBefore += W[r]; objAfter += W[r]; } else if (cnt[r] > 0) { objAfter += W[r]; } }
    var searchMs = performance.now() - t0;
    chosen.forEach(function (cc, z) {
      var s = sets[cc];
      var site = {id: S.nextId++, kind: "recommended", name: "推荐" + (z + 1), lon: CLON[cc], lat: CLAT[cc], seed: s.seed, snapInfo: null,
        snap_m: 0, nodes: s.reached.nodes, nodeDist: s.reached.dist, rows: s.rows, dist: s.dist, candidate: cc};
      S.sites.push(site);
    });
    S.message = "推荐 " + chosen.length + " 处 (贪心 + 交换, " + profile().label + " " + minKey(DATA.minutes[S.thr]) + " 分钟)";
    S.messageOk = true;
    refresh();
    var res = {picks: chosen.map(function (cc) { return {candidate: cc, lon: CLON[cc], lat: CLAT[cc]}; }),
      objective_before: objBefore, objective: objAfter, swaps: swaps, weight: BASIS === "pop60" ? "pop60" : "pop",
      minutes: DATA.minutes[S.thr], metres: t, search_ms: searchMs, ms: performance.now() - t0};
    S.lastRecommend = res;
    return res;
  }
  function csvCell(v) {
    var s = v === null || v === undefined ? "" : String(v);
    if (/^[=+\-@\t\r]/.test(s) && !/^-?\d+(\.\d+)?$/.test(s)) { s = "'" + s; }
    return /[",\n\r]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
  }
  function exportCSV(system) {
    var gcj = system === "gcj02", key, prof = profile();
    var head = ["name", "lon", "lat", "coords", "lonlat", "snap_m", "kind"];
    DATA.minutes.forEach(function (m) { key = minKey(m); head.push("gain_nodes_" + key + "min", "gain_pop_" + key + "min", "gain_pop60_" + key + "min"); });
    var lines = [head.join(",")];
    S.sites.forEach(function (s) {
      var p = gcj ? toGcj(s.lon, s.lat) : [s.lon, s.lat];
      var row = [s.name, p[0].toFixed(7), p[1].toFixed(7), gcj ? "gcj02" : "wgs84", p[0].toFixed(7) + "," + p[1].toFixed(7), s.snap_m.toFixed(1), s.kind];
      DATA.minutes.forEach(function (m) {
        var g = s.gains[minKey(m)];
        row.push(g.nodes, BASIS === "nodes" ? "" : g.pop.toFixed(2), BASIS === "pop60" ? g.pop60.toFixed(2) : "");
      });
      lines.push(row.map(csvCell).join(","));
    });
    lines.push("");
    return {text: lines.join("\r\n"), profile: prof.name, filename: "studio_sites_" + (gcj ? "gcj02" : "wgs84") + ".csv"};
  }
  function download(system) {
    var out = exportCSV(system);
    var blob = new Blob(["\ufeff" + out.text], {type: "text/csv;charset=utf-8"});
    var a = document.createElement("a");
    a.href = URL.createObjectURL(blob); a.download = out.filename;
    document.body.appendChild(a); a.click(); document.body.removeChild(a);
    setTimeout(function () { URL.revokeObjectURL(a.href); }, 1000);
  }
  function setProfile(name) {
    for (var q = 0; q < DATA.profiles.length; q++) { if (DATA.profiles[q].name === name) { S.profile = q; $("lc-profile").value = name; refresh(); return true; } }
    return false;
  }
  function setThreshold(minutes) {
    for (var q = 0; q < DATA.minutes.length; q++) { if (Number(DATA.minutes[q]) === Number(minutes)) { S.thr = q; $("lc-threshold").value = String(q); refresh(); return true; } }
    return false;
  }
  function state() {
    return {profile: profile().name, minutes: DATA.minutes[S.thr], basis: BASIS, n_nodes: NN, n_edges: NE, n_demand: ND,
      n_candidates: NC, sites: S.sites.map(publicSite), coverage: S.coverage, last_ms: S.last_ms, paint_ms: S.paint_ms,
      message: S.message, last_recommend: S.lastRecommend, timing: S.timing, search_ms: S.search_ms};
  }
  function siteWalks(id) {
    var q = indexOf(Number(id));
    if (q < 0) { return null; }
    var s = S.sites[q], out = {};
    for (var z = 0; z < s.rows.length; z++) { out[s.rows[z]] = s.dist[z]; }
    return out;
  }
  window.lifecircleStudio = {
    addSite: addSite, removeSite: removeSite, moveSite: moveSite, recommend: recommend, state: state,
    clear: clearSites, setProfile: setProfile, setThreshold: setThreshold, exportCSV: exportCSV, siteWalks: siteWalks,
    project: function (lon, lat) { return TM.forward(lon, lat); }, toGcj02: toGcj,
    snap: function (lon, lat) { var s = snapPoint(lon, lat); return {ok: s.ok, snap_m: s.snap_m, edge: s.edge, u: s.u, v: s.v, to_u: s.to_u, to_v: s.to_v}; },
  };

  // ------------------------------------------------------------------ controls
  $("lc-title").textContent = DATA.title;
  $("lc-sub").textContent = (DATA.boundary_name ? DATA.boundary_name + " · " : "") + "现有" + DATA.category_label + " " +
    DATA.existing.length + " 处 · 路网 " + NN + " 个节点 · 候选点 " + NC + " 个";
  $("lc-basis").textContent = "需求口径: " + DEM.basis_label + (BASIS === "nodes" ? "; 覆盖率为路网节点覆盖率, 不是人口" : "");
  DATA.profiles.forEach(function (p) { var o = el("option", p.label); o.value = p.name; $("lc-profile").appendChild(o); });
  DATA.minutes.forEach(function (m, k) { var o = el("option", minKey(m) + " 分钟"); o.value = String(k); $("lc-threshold").appendChild(o); });
  $("lc-threshold").value = String(S.thr);
  $("lc-profile").addEventListener("change", function (ev) { setProfile(ev.target.value); });
  $("lc-threshold").addEventListener("change", function (ev) { S.thr = Number(ev.target.value); refresh(); });
  $("lc-recommend").addEventListener("click", function () { recommend($("lc-n").value); });
  $("lc-clear").addEventListener("click", clearSites);
  $("lc-csv-wgs").addEventListener("click", function () { download("wgs84"); });
  $("lc-csv-gcj").addEventListener("click", function () { download("gcj02"); });
  map.on("click", function (ev) { addSite(ev.latlng.lng, ev.latlng.lat); });
  // legend
  (function () {
    var lg = $("lc-legend");
    lg.appendChild(el("b", "图例"));
    lg.appendChild(el("br"));
    DATA.minutes.forEach(function (m, k) {
      var row = el("div"), sw = el("span", undefined, "lc-sw");
      sw.style.background = colour(k);
      row.appendChild(sw);
      row.appendChild(document.createTextNode("新站点 " + minKey(m) + " 分钟可达道路"));
      lg.appendChild(row);
    });
    var fr = el("div"), holder = el("span");
    holder.innerHTML = DATA.category_icon;  // built by lifecircle.maps.style.icon_svg (escaped)
    fr.appendChild(holder); fr.appendChild(document.createTextNode("现有" + DATA.category_label));
    lg.appendChild(fr);
    var sr = el("div"), star = el("span", "★"); star.style.color = "#ffb300"; star.style.fontSize = "16px";
    sr.appendChild(star); sr.appendChild(document.createTextNode(" 新增站点 (数字为顺序)"));
    lg.appendChild(sr);
  })();
  (DATA.initial_sites || []).forEach(function (p) {
    var made = makeSite(p.lon, p.lat, "from_file", p.name || undefined);
    if (made.ok) { S.sites.push(made.site); }
  });
  refresh();
  document.documentElement.setAttribute("data-studio-ready", "1");
})();
