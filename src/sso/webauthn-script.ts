/**
 * The script of the sign-in pages' security-key and passkey buttons, served at
 * /sso/assets/webauthn.js. Each button's form names an options URL: the script posts there, hands
 * the options to the browser's WebAuthn API, and posts the credential back in the form's
 * `response` field, so the server answers with an ordinary page. Without WebAuthn (or outside a
 * secure context) the forms stay hidden and the other ways in remain.
 */
export const WEBAUTHN_SCRIPT_SOURCE = `'use strict';
(function () {
  var P = window.PublicKeyCredential;
  var supported = window.isSecureContext && typeof P === 'function' &&
    typeof P.parseRequestOptionsFromJSON === 'function' && typeof P.parseCreationOptionsFromJSON === 'function';
  if (!supported) return;
  document.querySelectorAll('form[data-webauthn]').forEach(function (form) {
    var alert = form.querySelector('[role=alert]');
    var button = form.querySelector('button');
    form.hidden = false;
    form.addEventListener('submit', function (event) {
      event.preventDefault();
      button.disabled = true;
      alert.hidden = true;
      var ret = form.elements.namedItem('return');
      fetch(form.dataset.options, {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify(ret ? { return: ret.value } : {})
      }).then(function (answer) {
        return answer.json().then(function (body) {
          if (!answer.ok) throw new Error(body.message || 'The server refused the request.');
          return form.dataset.webauthn === 'create'
            ? navigator.credentials.create({ publicKey: P.parseCreationOptionsFromJSON(body.options) })
            : navigator.credentials.get({ publicKey: P.parseRequestOptionsFromJSON(body.options) });
        });
      }).then(function (credential) {
        form.elements.namedItem('response').value = JSON.stringify(credential.toJSON());
        form.submit();
      }).catch(function (err) {
        alert.textContent = err && err.name === 'NotAllowedError'
          ? 'The request was cancelled or timed out. Try again.'
          : err && err.name === 'InvalidStateError'
            ? 'This key is already registered.'
            : (err && err.message) || 'Something went wrong. Try again.';
        alert.hidden = false;
        button.disabled = false;
      });
    });
  });
})();
`;
