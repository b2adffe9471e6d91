// A tiny client-side app: the HTML above is empty until this script fetches its data.
(function () {
  var path = location.pathname;
  var app = document.getElementById('app');
  fetch('/data.json')
    .then(function (r) { return r.json(); })
    .then(function (data) {
      var page = data.pages[path];
      if (!page) {
        // A soft 404: the app answers 200, the meta tag tells crawlers the truth.
        var meta = document.createElement('meta');
        meta.name = 'prerender-status-code';
        meta.content = '404';
        document.head.appendChild(meta);
        page = { title: 'Not found', body: 'There is no page at ' + path + '.' };
      }
      document.title = page.title + ' · rendercache demo';
      var h1 = document.createElement('h1');
      h1.textContent = page.title;
      var p = document.createElement('p');
      p.textContent = page.body;
      app.textContent = '';
      app.appendChild(h1);
      app.appendChild(p);
    });
})();
