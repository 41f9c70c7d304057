// Who is signed in. The bearer token lives in localStorage and travels only in the Authorization
// header: the server trusts no cookie, so other sites cannot act for anyone.

const KEY = "likeness.token";
const listeners = new Set();

export const session = {
  token: localStorage.getItem(KEY),
  me: null, // the signed-in Account, with `role`

  set(token, me) {
    localStorage.setItem(KEY, token);
    this.token = token;
    this.me = me;
    listeners.forEach((fn) => fn());
  },

  clear() {
    localStorage.removeItem(KEY);
    this.token = null;
    this.me = null;
    listeners.forEach((fn) => fn());
  },

  onChange(fn) {
    listeners.add(fn);
  },

  isStaff() {
    return ["admin", "moderator"].includes(this.me?.role?.name);
  },

  isAdmin() {
    return this.me?.role?.name === "admin";
  },

  isMe(account) {
    return Boolean(this.me && account && this.me.id === account.id);
  },
};
