// epu-mapper's page element (a Streamlit v2 component: drawn in the page itself, no frame).
//
// With map data it draws a Leaflet map. Python (epu_mapper/ui/leaflet_payload.py) sends:
//   map_var   the map's variable and element id ("map_<key>")
//   base      script creating the map: tiles, background outlines (the same on every rerun)
//   layers    script creating the data layers in one feature group named `group_var`
//   group_var that group's variable
//   height    pixels;  background  the map's background colour
//   leaflet   [script URL, stylesheet URL] of the app's own copy of Leaflet
// A rerun that changes only the data swaps the feature group in place; a new base (another
// level's outlines) builds a new map in the same element.
//
// With `preload` data (every page, epu_mapper/ui/frontend.py) it draws nothing: once the page
// has loaded and the browser is idle it imports the frontend chunks later pages need and
// loads Leaflet. Drawn on every page, it also makes Streamlit load this element's own code
// with the first page, so a page's first map is not held back waiting for it.

function loadLeaflet(scriptUrl, cssUrl) {
  if (window.L && window.L.map) {
    return Promise.resolve(window.L);
  }
  if (!window.__epuLeaflet) {
    if (cssUrl && !document.querySelector("link[data-epu-leaflet]")) {
      const link = document.createElement("link");
      link.rel = "stylesheet";
      link.href = cssUrl;
      link.dataset.epuLeaflet = "1";
      document.head.appendChild(link);
    }
    window.__epuLeaflet = new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = scriptUrl;
      script.onload = () => resolve(window.L);
      script.onerror = () => {
        window.__epuLeaflet = null;
        reject(new Error("the local copy of Leaflet did not load"));
      };
      document.head.appendChild(script);
    });
  }
  return window.__epuLeaflet;
}

function newMap(host, data, L) {
  const old = host.__epuMap;
  if (old) {
    old.map.remove();
  }
  host.replaceChildren();
  const box = document.createElement("div");
  box.id = data.map_var;
  box.className = "epu-map";
  box.style.position = "relative";
  box.style.width = "100%";
  box.style.height = Number(data.height) + "px";
  box.style.background = String(data.background);
  host.appendChild(box);
  // `var` declarations stay local to this function; `epuMap` is the map for layers drawn
  // from inside the feature group
  const map = new Function("L", "epuMap", data.base + "\nreturn " + data.map_var + ";")(L, null);
  box.epuLeafletMap = map; // for the browser tests (and a console): the Leaflet map
  // on a touch screen one finger scrolls the page past the map (a map nearly as tall as a
  // phone's screen would otherwise catch every swipe); its + and − buttons, and a pinch,
  // zoom it
  if (window.matchMedia && window.matchMedia("(pointer: coarse)").matches && map.dragging) {
    map.dragging.disable();
  }
  const state = { base: data.base, layers: null, map: map, group: null };
  host.__epuMap = state;
  return state;
}

function draw(host, data, L) {
  let state = host.__epuMap;
  if (!state || state.base !== data.base || !host.contains(state.map.getContainer())) {
    state = newMap(host, data, L);
  }
  if (state.layers === data.layers) {
    return;
  }
  if (state.group) {
    state.map.removeLayer(state.group);
  }
  state.group = new Function("L", "epuMap", data.map_var,
    data.layers + "\nreturn " + data.group_var + ";")(L, state.map, state.map);
  state.layers = data.layers;
}

function showError(host, error) {
  const note = document.createElement("p");
  note.setAttribute("role", "status");
  note.textContent = "The map could not be drawn (" + error.message +
    "); the table beside it holds the same information.";
  host.replaceChildren(note);
}

function preload(request) {
  if (window.__epuPreloaded) {
    return;
  }
  window.__epuPreloaded = true;
  const main = document.querySelector('script[type=module][src*="/static/js/index."]');
  const base = main ? main.src.replace(/[^/]*$/, "") : null;
  const go = () => {
    if (base) {
      // resolved next to the frontend's main module: the URLs its own lazy imports use
      request.chunks.forEach((name) => import(base + name).catch(() => {}));
    }
    loadLeaflet(request.leaflet[0], request.leaflet[1]).catch(() => {});
  };
  const idle = () => (window.requestIdleCallback
    ? window.requestIdleCallback(go, { timeout: 3000 }) : go());
  const later = () => setTimeout(idle, Number(request.delay_ms));
  if (document.readyState === "complete") {
    later();
  } else {
    window.addEventListener("load", later, { once: true });
  }
}

export default function (component) {
  const { data, parentElement } = component;
  const host = parentElement;
  if (data && data.preload) {
    preload(data.preload);
    return undefined;
  }
  if (!data || !data.base) {
    return undefined;
  }
  loadLeaflet(data.leaflet[0], data.leaflet[1])
    .then((L) => draw(host, data, L))
    .catch((error) => showError(host, error));
  // Streamlit calls the last cleanup when the element leaves the page (and may call an
  // earlier one at once when new data overtook it): free the map only once it is gone
  return () => {
    setTimeout(() => {
      const state = host.__epuMap;
      if (state && !host.isConnected) {
        state.map.remove();
        host.__epuMap = null;
      }
    }, 0);
  };
}
