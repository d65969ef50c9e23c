// English and Simplified Chinese. The English text is the key; a missing translation
// shows the English. The choice is kept in localStorage (it is not a secret).
export type Lang = 'en' | 'zh';

const STORE = 'moments-gate.lang';
let current: Lang = (() => {
  try {
    return localStorage.getItem(STORE) === 'zh' ? 'zh' : 'en';
  } catch {
    return 'en';
  }
})();
const listeners = new Set<() => void>();

export const lang = () => current;
export function setLang(l: Lang) {
  current = l;
  try {
    localStorage.setItem(STORE, l);
  } catch {
    /* private mode: the choice lasts for this page */
  }
  document.documentElement.lang = l === 'zh' ? 'zh-CN' : 'en';
  listeners.forEach((f) => f());
}
export function onLangChange(f: () => void): () => void {
  listeners.add(f);
  return () => listeners.delete(f);
}

const zh: Record<string, string> = {
  'Review console': '审核控制台',
  'Sign in': '登录',
  'Sign out': '退出登录',
  Email: '邮箱',
  Password: '密码',
  'Signing in…': '正在登录…',
  'For platform reviewers and administrators.': '供平台审核员和管理员使用。',
  'Your session has expired. Please sign in again.': '会话已过期，请重新登录。',
  'This console is for platform staff (reviewers and administrators). Brand marketers use the brand tools.':
    '此控制台仅供平台员工（审核员和管理员）使用。品牌营销人员请使用品牌工具。',
  Queue: '审核队列',
  'Review queue': '审核队列',
  Brands: '品牌',
  'Brands to verify': '待认证品牌',
  Seasons: '促销季',
  Season: '促销季',
  Users: '用户',
  'API keys': 'API 密钥',
  'Audit log': '审计日志',
  'All seasons': '全部促销季',
  Appeal: '申诉',
  Waiting: '等待时长',
  Brand: '品牌',
  Title: '标题',
  Submitted: '提交时间',
  Claim: '认领',
  Actions: '操作',
  'Nothing is waiting for review.': '暂无待审核的申请。',
  'In review': '审核中',
  'Reviewer': '审核员',
  'Open': '打开',
  Loading: '加载中',
  'Loading…': '加载中…',
  Status: '状态',
  'Ad preview': '广告预览',
  'Sponsored': '广告',
  'Image could not be loaded': '图片无法加载',
  'No logo': '无标志',
  Landing: '落地页',
  'Tmall app deep link': '天猫 App 深度链接',
  'Web fallback': '网页备用链接',
  'Requested window': '申请投放时段',
  'Season run window': '促销季投放期',
  Budget: '预算',
  'CPM bid': 'CPM 出价',
  'Daily cap': '日预算上限',
  Total: '总预算',
  Targeting: '定向',
  Regions: '地区',
  Ages: '年龄',
  Genders: '性别',
  Interests: '兴趣',
  All: '全部',
  'Brand verification': '品牌认证',
  'Tmall store': '天猫店铺',
  Kind: '类型',
  'Audit trail': '审计记录',
  Time: '时间',
  Actor: '操作人',
  Action: '动作',
  Change: '变更',
  Note: '备注',
  Reason: '原因',
  Decision: '审核决定',
  Approve: '通过',
  Reject: '拒绝',
  'Request changes': '要求修改',
  Release: '释放',
  'Choose a reason': '选择原因',
  'How the brand fixes it': '品牌如何修改',
  'Claim this application to decide it.': '认领此申请后才能作出审核决定。',
  'Claimed by another reviewer.': '已由其他审核员认领。',
  'Not set': '未填写',
  Verify: '认证',
  'No brand is waiting for verification.': '暂无待认证的品牌。',
  Created: '创建时间',
  Name: '名称',
  Code: '代码',
  State: '状态',
  'Time zone': '时区',
  'Applications open': '开始接受申请',
  'Applications close': '停止接受申请',
  Starts: '开始',
  Ends: '结束',
  Phases: '阶段',
  'Add phase': '添加阶段',
  Remove: '删除',
  'New season': '新建促销季',
  'Edit season': '编辑促销季',
  Edit: '编辑',
  Save: '保存',
  Create: '创建',
  Cancel: '取消',
  Saved: '已保存',
  Dashboard: '数据看板',
  Applications: '申请',
  Whitelist: '白名单',
  Campaigns: '广告活动',
  'Review figures': '审核指标',
  Pending: '待处理',
  'Oldest waiting': '最久等待',
  'Median decision time': '决定时间中位数',
  'p90 decision time': '决定时间 P90',
  'Approval rate': '通过率',
  'Download CSV': '下载 CSV',
  Suspend: '暂停',
  Reinstate: '恢复',
  Revoke: '撤销',
  'Valid from': '生效',
  'Valid until': '失效',
  Granted: '授予时间',
  'No whitelist entries yet.': '暂无白名单条目。',
  Role: '角色',
  Disabled: '已停用',
  Active: '正常',
  Disable: '停用',
  'Display name': '显示名称',
  'New user': '新建用户',
  'New API key': '新建 API 密钥',
  'Copy': '复制',
  'Copied': '已复制',
  'This is the only time the key is shown. Store it now.': '密钥只显示这一次，请立即保存。',
  Revoked: '已撤销',
  'Entity type': '对象类型',
  'Entity id': '对象 ID',
  'Actor id': '操作人 ID',
  Since: '起始',
  Until: '截止',
  Filter: '筛选',
  'Load more': '加载更多',
  Entity: '对象',
  'No events.': '无事件。',
  'Times in': '时间按',
  Language: '语言',
  'Skip to content': '跳到正文',
  'Not found': '未找到',
  'This page does not exist.': '此页面不存在。',
  'Signed in as': '当前用户',
  Presale: '预售',
  'Application': '申请',
  'Back to the queue': '返回审核队列',
  'Application approved.': '申请已通过。',
  'Decision recorded.': '审核决定已记录。',
  'Released to the queue.': '已释放回队列。',
  Any: '任意',
  'Season dashboard': '促销季看板',
  'Whitelist of this season': '本季白名单',
  'Store link': '店铺链接',
  'All brands': '全部品牌',
  marketer: '营销人员',
  reviewer: '审核员',
  admin: '管理员',
  draft: '草稿',
  submitted: '已提交',
  in_review: '审核中',
  changes_requested: '待修改',
  approved: '已通过',
  rejected: '已拒绝',
  withdrawn: '已撤回',
  active: '生效',
  suspended: '已暂停',
  revoked: '已撤销',
  scheduled: '已排期',
  live: '投放中',
  paused: '已暂停',
  halted: '已中止',
  ended: '已结束',
  upcoming: '未开始',
  accepting: '接受申请中',
  running: '进行中',
  pending: '待认证',
  verified: '已认证',
  brand: '品牌',
  independent_retailer: '独立零售商',
  female: '女',
  male: '男',
};

/** Statuses and other API values (`in_review`) as words: "In review" / "审核中". */
export function label(value: string): string {
  if (current === 'zh') return zh[value] ?? value;
  const s = value.replace(/_/g, ' ');
  return s.charAt(0).toUpperCase() + s.slice(1);
}

export function t(key: string): string {
  return current === 'zh' ? (zh[key] ?? key) : key;
}
